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


# The disclosure questions a mediator answers at the conflict check, and again for whoever joins the case after
# acceptance (after California Rules of Court 3.855 and the Uniform Mediation Act), by the field of each answer; a
# "yes" needs its details. The pages ask them; the emails and pages that show a disclosure use the short headings.
DISCLOSURE_QUESTIONS = {
    "financial_interest": "Do you have any financial or personal interest in the outcome of this mediation?",
    "relationship": "Do you have, or have you had, any relationship with a party, representative or interested person of this case?",
    "past_services": "Have you provided services to any of them (for example as a mediator, attorney, agent, broker, appraiser or consultant)?",
    "other_matters": "Is there anything else a reasonable person would want to know before accepting you as the mediator?",
}
DISCLOSURE_HEADINGS = {
    "financial_interest": "Interest in the outcome",
    "relationship": "Relationship with someone on the case",
    "past_services": "Past services to someone on the case",
    "other_matters": "Anything else",
}
