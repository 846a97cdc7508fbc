"""Why an account is unscorable, in English and Chinese: the ``status_reason`` of a score.

The ``status`` column (``scored`` or ``unscorable``) is the same in every language; only the reason is
worded. Batch scoring and the MLflow model (REST, Spark) word it from here.
"""

from __future__ import annotations

__all__ = ["STATUS_REASONS", "status_reason"]

STATUS_REASONS: dict[str, dict[str, str]] = {
    "en": {
        "never": "no orders before as_of",
        "inactive": "no orders in the last {days} days",
        "lapsed": "already defected: no order for {days} days",
        "gone": "not in the data of this scoring (scored on {date})",
    },
    "zh": {
        "never": "评估日之前没有订单",
        "inactive": "近{days}天没有订单",
        "lapsed": "已流失：已{days}天未下单",
        "gone": "本次评分的数据中没有该客户（上次评分于{date}）",
    },
}


def status_reason(kind: str, lang: str = "en", **values: object) -> str:
    """The reason ``kind`` (never, inactive, lapsed, gone) in ``lang``, filled with ``values``."""
    return STATUS_REASONS[lang][kind].format(**values)
