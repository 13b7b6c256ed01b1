from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "applications"
