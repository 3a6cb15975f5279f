"""How amounts of time and of people are written, the same in the workflow's timeline, the emails and the pages."""


def duration_words(seconds: int) -> str:
    """'2 days', '36 hours', '1 day', '90 minutes': how long something lasts, as a person would say it."""
    if seconds >= 86400 and seconds % 86400 == 0:
        amount, unit = seconds // 86400, "day"
    elif seconds >= 3600 and seconds % 3600 == 0:
        amount, unit = seconds // 3600, "hour"
    else:
        amount, unit = max(1, round(seconds / 60)), "minute"
    return counted(amount, unit)


def counted(amount: int, noun: str, plural: str = "") -> str:
    """'1 party', '2 parties', '3 people'."""
    return f"{amount} {noun if amount == 1 else plural or noun + 's'}"
