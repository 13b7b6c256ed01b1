"""Connection timeline: working-day calendar, process stages, critical path, World Bank case."""

from costmodel.schedule.doing_business import compare_doing_business, doing_business_case
from costmodel.schedule.gantt import plot_gantt
from costmodel.schedule.plan import schedule_applications

__all__ = ["schedule_applications", "plot_gantt", "doing_business_case", "compare_doing_business"]
