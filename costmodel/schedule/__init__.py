"""Connection timeline: working-day calendar, process stages, critical path.

Only the schedule itself is imported here: the quote needs it, and nothing heavier (the Gantt chart,
matplotlib, lives in `costmodel.schedule.gantt`; the World Bank case, a study that quotes, in
`costmodel.scenarios.doing_business`).
"""

from costmodel.schedule.plan import schedule_applications

__all__ = ["schedule_applications"]
