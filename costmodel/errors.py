class CostmodelError(Exception):
    """Base of every error the user should see as a message, not a traceback."""
class InputError(CostmodelError, ValueError):
    """Bad input: names the field, the value and what is allowed."""
