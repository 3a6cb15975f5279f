"""Rules for what people type, shared by every form and JSON body."""

from email_validator import EmailNotValidError, validate_email

EMAIL_PROBLEM = "Enter a valid email address, like name@example.com."


def normalized_email(text: str) -> str | None:
    """The address as the center stores it (checked by `email-validator`, lowercased), or None if it is not one.

    Deliverability is not checked: that would need the network, and a typo'd domain is the person's to fix.
    """
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None
