"""What goes into adding a document and what comes out about one, for the Documents page and the JSON API alike."""

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from core.inputs import Id, Line, Paragraphs

Category = Literal["Contract", "Disclosure", "Inspection report", "Correspondence", "Dialogue", "Others"]
CATEGORIES: tuple[str, ...] = get_args(Category)
CHOOSE_CATEGORY = "Choose a category for the document."
NOT_ON_CASE = "Documents can only be shared with people in this case."
# More than any case has people; it keeps one request from naming millions.
MAX_SHARES = 1000


def _trimmed(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _known_category(value: str) -> str:
    if value not in CATEGORIES:
        raise PydanticCustomError("category", CHOOSE_CATEGORY)
    return value


# The page's select sends "" until a category is chosen: that is the person's mistake to correct, not a missing field.
CategoryChoice = Annotated[str, BeforeValidator(_trimmed), AfterValidator(_known_category), Field(json_schema_extra={"enum": list(CATEGORIES)})]


class NewDocument(BaseModel):
    """A document's details; the file travels beside them (a multipart part named `file`)."""

    category: CategoryChoice
    title: Annotated[str, Line(200, "the title", required="Enter a title for the document.")]
    description: Annotated[str, Paragraphs(5000, "the description")] = ""
    share_with: list[Id] = Field(
        default_factory=list,
        max_length=MAX_SHARES,
        description="Person ids in the case who may see it (repeat the field); the uploader and staff always can.",
    )

    @field_validator("share_with", mode="wrap")
    @classmethod
    def _people_of_the_case(cls, value, handler):
        # Anything but a list of ids cannot name a person of the case; say it in the words the page shows.
        try:
            return handler(value)
        except ValidationError as error:
            if any(problem["type"] == "too_long" for problem in error.errors()):
                raise PydanticCustomError("share_with", f"Share a document with at most {MAX_SHARES:,} people.") from None
            raise PydanticCustomError("share_with", NOT_ON_CASE) from None


class PersonRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str


class DocumentOut(BaseModel):
    """A document as the people it is shared with see it."""

    id: int
    case_id: int
    category: str
    title: str
    description: str
    file_name: str = Field(description="The uploaded name, sanitised; files are stored under generated keys.")
    content_type: str
    size_bytes: int
    uploaded_by: PersonRef
    created_at: datetime = Field(description="RFC 3339, UTC")
    shared_with: list[PersonRef] = Field(description="Who may see it besides the uploader and center staff.")
    room_id: int | None = Field(description="The discussion room it was attached in, if any.")
    download_url: str
    can_delete: bool = Field(description="Whether you may delete it (its uploader and center staff).")
