"""What goes into a caucus room or a message, and what comes out about rooms and messages, for the pages and
the JSON API alike."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from core.inputs import Id, Line, Paragraphs

MAX_ROOM_NAME = 120
MAX_MESSAGE_LENGTH = 5000
MEMBERS_ON_CASE = "Members of a caucus room must be people on this case."


class NewCaucusRoom(BaseModel):
    """A private room with chosen people of the case; the mediator is always in it."""

    name: Annotated[str, Line(MAX_ROOM_NAME, "the room name")] = Field("", description="Empty gives a name from the members.")
    member_ids: list[Id] = Field(default_factory=list, max_length=200, description="People on the case; the mediator is always added.")

    @field_validator("member_ids", mode="wrap")
    @classmethod
    def _people_of_the_case(cls, value, handler):
        # Anything but a list of ids cannot name a person of the case; say it in the words the page shows.
        try:
            return handler(value)
        except ValidationError as error:
            if any(problem["type"] == "too_long" for problem in error.errors()):
                raise PydanticCustomError("member_ids", "Choose at most 200 members for a caucus room.") from None
            raise PydanticCustomError("member_ids", MEMBERS_ON_CASE) from None


class NewRoomMessage(BaseModel):
    """A message in a room. It may be empty only when it carries an attachment (a multipart part named
    `attachment`), which the service checks, since only it sees both."""

    body: Annotated[str, Paragraphs(MAX_MESSAGE_LENGTH, "a message")] = ""


class RoomMemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str


class DiscussionRoomOut(BaseModel):
    id: int
    name: str
    kind: Literal["joint", "caucus"]
    members: list[RoomMemberOut]
    message_count: int
    last_message_at: datetime | None = Field(description="RFC 3339, UTC")
    url: str = Field(description="The room's page.")


class DiscussionsOverview(BaseModel):
    open: bool = Field(description="False until the mediator opens discussions.")
    can_manage: bool = Field(description="Whether you may open discussions and set up caucus rooms (the mediator and staff).")
    rooms: list[DiscussionRoomOut] = Field(description="Only the rooms you are a member of (staff: all rooms).")


class RoomAttachmentOut(BaseModel):
    id: int
    title: str
    file_name: str
    size_bytes: int
    download_url: str


class RoomMessageOut(BaseModel):
    id: int
    author_id: int
    author_name: str
    body: str
    created_at: datetime = Field(description="RFC 3339, UTC")
    attachment: RoomAttachmentOut | None = Field(description="The file attached, also in the case's Documents for the room's members.")
