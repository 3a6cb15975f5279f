"""The case room basics over HTTP: My Profile (and staff editing people), Case Home messages, Intake Details, Users."""

import re
from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import Message, Participant, Person
from core.db.session import transaction
from features.cases.roster import NewCase, PartyContact, file_case

CIVILITY = "civility and mutual respect is vital and will increase the likelihood of the parties reaching a mutually agreeable settlement"
SMALL_CLAIMS = "Note that matters within the jurisdiction of a small claims court are excluded from the requirement to mediate"


@dataclass
class Room:
    case_id: int
    staff: Person
    katy: Person  # initiating party, the filer
    taylor: Person  # responding party
    agent: Person  # Taylor's agent
    guest: Person  # an interested person
    mediator: Person
    stranger: Person  # on no case


async def case_room(web) -> Room:
    staff = await web.person("staff@car.org", "Center Staff", staff=True)
    katy = await web.person("katy@example.com", "Katy Perry")
    taylor = await web.person("taylor@example.com", "Taylor Swift")
    agent = await web.person("agent@example.com", "Ann Agent")
    guest = await web.person("guest@example.com", "Ivan Interested")
    mediator = await web.person("mia@example.com", "Mia Mediator", mediator=True)
    stranger = await web.person("stranger@example.com", "Sam Stranger")
    async with transaction(web.sessions) as session:
        case = await file_case(
            session,
            web.client,
            web.settings,
            NewCase(
                property_address="1234 Music Way, Los Angeles, CA 90210",
                dispute_bases=["Deposit dispute", "Failure to disclose a known defect"],
                dispute_value="$75,001 and over",
                description="The deposit was kept.\nThe roof leaks.",
                filer_id=katy.id,
                parties=[PartyContact("Taylor Swift", "taylor@example.com", "responding")],
            ),
        )
        session.add_all(
            [
                Participant(case_id=case.id, person_id=agent.id, role="representative", represents_id=taylor.id, representative_kind="Agent"),
                Participant(case_id=case.id, person_id=guest.id, role="interested"),
                Participant(case_id=case.id, person_id=mediator.id, role="mediator"),
            ]
        )
        case_id = case.id
    return Room(case_id, staff, katy, taylor, agent, guest, mediator, stranger)


async def fresh(web, person_id: int) -> Person:
    async with web.sessions() as session:
        return await session.get(Person, person_id)


ZIP_TOO_LONG = "Keep the zip code to 20 characters (it has 21)."
PROFILE = {
    "email": "katy@example.com",
    "full_name": "Katy Perry",
    "organization": "Perry Homes",
    "address1": "1 Firework Lane",
    "city": "Santa Barbara",
    "state": "CA",
    "zip": "93101",
    "phone": "(805) 555-0100",
}


# ---- My Profile -------------------------------------------------------------------------------------


async def test_profile_saves_and_re_renders_mistakes(web):
    room = await case_room(web)
    async with web.browser() as b:
        await b.login("katy@example.com")
        page = await b.get("/profile")
        assert page.status_code == 200 and "My Profile" in page.text and 'href="/profile"' in page.text
        assert "Hide my contact details from other participants" in page.text and "Confidential notes" not in page.text
        assert "User Type:</strong> Party" in page.text and 'name="user_type"' not in page.text

        bad = await b.post("/profile", {**PROFILE, "email": "not-an-email", "full_name": "", "zip": "9" * 21})
        assert bad.status_code == 422
        assert "Enter a valid email address, like name@example.com." in bad.text and "Enter your full name." in bad.text
        assert ZIP_TOO_LONG in bad.text and 'aria-describedby="zip-error"' in bad.text
        assert 'value="Perry Homes"' in bad.text  # what was typed comes back
        taken = await b.post("/profile", {**PROFILE, "email": "Taylor@Example.com"})
        assert taken.status_code == 422 and "Another account already uses this email address." in taken.text
        phone = await b.post("/profile", {**PROFILE, "phone": "call me maybe"})
        assert phone.status_code == 422 and "phone number" in phone.text
        assert (await fresh(web, room.katy.id)).organization == ""  # nothing saved from rejected forms

        # A participant cannot slip in the center's fields.
        saved = await b.post("/profile", {**PROFILE, "email": "Katy.Perry@Example.com", "confidential_notes": "I am lovely", "user_type": "Center staff"})
        assert saved.status_code == 303 and saved.headers["location"] == "/profile"
        katy = await fresh(web, room.katy.id)
        assert (katy.email, katy.organization, katy.city, katy.phone) == ("katy.perry@example.com", "Perry Homes", "Santa Barbara", "(805) 555-0100")
        assert katy.confidential_notes == "" and katy.user_type == "Party" and not katy.is_staff
        again = await b.get(saved.headers["location"])
        assert 'value="Santa Barbara"' in again.text and "Your profile was saved." in again.text

    # The new email signs in.
    async with web.browser() as b:
        assert (await b.login("katy.perry@example.com")).status_code == 303


async def test_profile_json_never_carries_confidential_notes(web):
    room = await case_room(web)
    async with transaction(web.sessions) as session:
        (await session.get(Person, room.katy.id)).confidential_notes = "Prefers phone calls after 5pm"
    async with web.browser() as b:
        await b.login("katy@example.com")
        mine = await b.api("GET", "/api/v1/profile")
        assert mine.status_code == 200 and mine.json()["email"] == "katy@example.com"
        assert "confidential_notes" not in mine.json() and "Prefers phone calls" not in mine.text
        assert "Prefers phone calls" not in (await b.get("/profile")).text

        sneaky = await b.api("PUT", "/api/v1/profile", {"city": "Malibu", "confidential_notes": "erased"})
        assert sneaky.status_code == 422
        bad = await b.api("PUT", "/api/v1/profile", {"email": "nope"})
        assert bad.status_code == 422 and bad.json()["errors"] == {"email": "Enter a valid email address, like name@example.com."}
        # The same limits, in the same words, as the page.
        long_zip = await b.api("PUT", "/api/v1/profile", {"zip": "9" * 21})
        assert long_zip.status_code == 422 and long_zip.json()["errors"] == {"zip": ZIP_TOO_LONG}
        no_token = await b.http.put("/api/v1/profile", json={"city": "Malibu"})
        assert no_token.status_code == 403

        ok = await b.api("PUT", "/api/v1/profile", {"city": "Malibu", "contact_hidden": True})
        assert ok.status_code == 200 and ok.json()["city"] == "Malibu" and ok.json()["contact_hidden"] is True
        assert ok.json()["full_name"] == "Katy Perry"  # fields left out keep their value
        katy = await fresh(web, room.katy.id)
        assert katy.confidential_notes == "Prefers phone calls after 5pm" and katy.contact_hidden

        # Only staff reach anyone else's details, confidential notes included.
        assert (await b.get(f"/staff/people/{room.taylor.id}")).status_code == 403
        assert (await b.api("GET", f"/api/v1/staff/people/{room.katy.id}")).status_code == 403
        assert (await b.api("PUT", f"/api/v1/staff/people/{room.katy.id}", {"confidential_notes": "x"})).status_code == 403


async def test_staff_edit_a_persons_details_confidential_notes_and_hidden_contact(web):
    room = await case_room(web)
    async with web.browser() as b:
        await b.login("staff@car.org")
        page = await b.get(f"/staff/people/{room.taylor.id}")
        assert page.status_code == 200 and "Confidential notes" in page.text and "Hide contact details from other participants" in page.text
        assert 'name="user_type"' in page.text
        saved = await b.post(
            f"/staff/people/{room.taylor.id}",
            {
                **PROFILE,
                "email": "taylor@example.com",
                "full_name": "Taylor Swift",
                "user_type": "Party",
                "confidential_notes": "Asked us not to share her address",
                "contact_hidden": "yes",
            },
        )
        assert saved.status_code == 303
        taylor = await fresh(web, room.taylor.id)
        assert taylor.confidential_notes == "Asked us not to share her address" and taylor.contact_hidden
        too_long = await b.post(f"/staff/people/{room.taylor.id}", {**PROFILE, "email": "taylor@example.com", "confidential_notes": "x" * 5001})
        assert too_long.status_code == 422 and "Keep the confidential notes to 5,000 characters (it has 5,001)." in too_long.text
        assert "x" * 5001 in too_long.text  # what was typed comes back

        seen = await b.api("GET", f"/api/v1/staff/people/{room.taylor.id}")
        assert seen.status_code == 200 and seen.json()["confidential_notes"] == "Asked us not to share her address"
        put = await b.api("PUT", f"/api/v1/staff/people/{room.taylor.id}", {"confidential_notes": "Call first", "contact_hidden": False})
        assert put.status_code == 200 and put.json()["confidential_notes"] == "Call first" and put.json()["contact_hidden"] is False
        assert (await b.api("PUT", f"/api/v1/staff/people/{room.taylor.id}", {"user_type": "Wizard"})).status_code == 422
        assert (await b.api("GET", "/api/v1/staff/people/99999")).status_code == 404
        assert (await b.get("/staff/people/99999")).status_code == 404

    async with web.browser() as b:
        await b.login("taylor@example.com")
        own = await b.get("/profile")
        assert "Call first" not in own.text and "Confidential notes" not in own.text


async def test_hidden_contact_details_stay_hidden_from_other_participants_but_not_staff(web):
    room = await case_room(web)
    async with web.browser() as taylor:
        await taylor.login("taylor@example.com")
        await taylor.get("/profile")
        await taylor.post("/profile", {**PROFILE, "email": "taylor@example.com", "full_name": "Taylor Swift", "phone": "213-555-0199", "contact_hidden": "yes"})
        own = await taylor.get(f"/cases/{room.case_id}/users")
        assert "taylor@example.com" in own.text and "213-555-0199" in own.text  # she still sees her own

    async with web.browser() as katy:
        await katy.login("katy@example.com")
        page = await katy.get(f"/cases/{room.case_id}/users")
        assert page.status_code == 200
        assert "Contact details hidden" in page.text and "taylor@example.com" not in page.text and "213-555-0199" not in page.text
        assert "agent@example.com" in page.text  # others' details show
        users = {u["name"]: u for u in (await katy.api("GET", f"/api/v1/cases/{room.case_id}/users")).json()}
        assert users["Taylor Swift"]["contact"] is None and users["Taylor Swift"]["contact_hidden"] is True
        assert users["Ann Agent"]["contact"]["email"] == "agent@example.com"

    async with web.browser() as staff:
        await staff.login("staff@car.org")
        page = await staff.get(f"/cases/{room.case_id}/users")
        assert "taylor@example.com" in page.text and "213-555-0199" in page.text and "Hidden from other participants" in page.text
        users = {u["name"]: u for u in (await staff.api("GET", f"/api/v1/cases/{room.case_id}/users")).json()}
        assert users["Taylor Swift"]["contact"]["phone"] == "213-555-0199"


# ---- Case Home messages -----------------------------------------------------------------------------


async def test_messages_are_posted_listed_newest_first_and_escaped(web):
    room = await case_room(web)
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        home = await katy.get(f"/cases/{room.case_id}")
        assert CIVILITY in home.text and "Add New Message" in home.text and "visible to all case participants" in home.text
        first = await katy.post(f"/cases/{room.case_id}/messages", {"body": "Welcome to C.A.R. Mediation!"})
        assert "Your message was posted" in await katy.notice(first)
        await katy.get(f"/cases/{room.case_id}")
        await katy.post(f"/cases/{room.case_id}/messages", {"body": "<script>alert('x')</script> & more"})

        empty = await katy.post(f"/cases/{room.case_id}/messages", {"body": "   "})
        assert empty.status_code == 422 and "Write your message" in empty.text
        long = await katy.post(f"/cases/{room.case_id}/messages", {"body": "y" * 5001})
        assert long.status_code == 422 and "Keep your message to 5,000 characters (it has 5,001)." in long.text and "y" * 5001 in long.text  # the draft is kept

    async with web.browser() as guest:
        await guest.login("guest@example.com")
        page = (await guest.get(f"/cases/{room.case_id}")).text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in page and "<script>alert" not in page
        assert page.index("&lt;script&gt;") < page.index("Welcome to C.A.R. Mediation!")  # newest first
        assert "Created by : Katy Perry" in page
        assert "/messages/" not in page  # no delete buttons on other people's messages

        listed = (await guest.api("GET", f"/api/v1/cases/{room.case_id}/messages")).json()
        assert [m["body"] for m in listed] == ["<script>alert('x')</script> & more", "Welcome to C.A.R. Mediation!"]
        assert listed[0]["author_name"] == "Katy Perry" and listed[0]["can_delete"] is False
        posted = await guest.api("POST", f"/api/v1/cases/{room.case_id}/messages", {"body": "Glad to help."})
        assert posted.status_code == 201 and posted.json()["author_name"] == "Ivan Interested" and posted.json()["can_delete"] is True
        assert (await guest.api("POST", f"/api/v1/cases/{room.case_id}/messages", {"body": ""})).status_code == 422
        assert (await guest.api("POST", f"/api/v1/cases/{room.case_id}/messages", {"body": "z" * 5001})).status_code == 422


async def test_only_the_author_or_staff_delete_a_message_and_strangers_see_none(web):
    room = await case_room(web)
    async with web.browser() as katy:
        await katy.login("katy@example.com")
        await katy.get(f"/cases/{room.case_id}")
        await katy.post(f"/cases/{room.case_id}/messages", {"body": "Katy's first"})
        await katy.get(f"/cases/{room.case_id}")
        await katy.post(f"/cases/{room.case_id}/messages", {"body": "Katy's second"})
    async with web.sessions() as session:
        ids = {m.body: m.id for m in (await session.execute(select(Message))).scalars()}
    first, second = ids["Katy's first"], ids["Katy's second"]

    async with web.browser() as taylor:
        await taylor.login("taylor@example.com")
        await taylor.get(f"/cases/{room.case_id}")
        refused = await taylor.post(f"/cases/{room.case_id}/messages/{first}/delete")
        assert refused.status_code == 403 and "Only the person who posted a message" in refused.text
        assert (await taylor.api("DELETE", f"/api/v1/cases/{room.case_id}/messages/{first}")).status_code == 403
        assert (await taylor.api("DELETE", f"/api/v1/cases/{room.case_id}/messages/424242")).status_code == 404

    async with web.browser() as stranger:
        await stranger.login("stranger@example.com")
        assert (await stranger.api("GET", f"/api/v1/cases/{room.case_id}/messages")).status_code == 404
        assert (await stranger.api("POST", f"/api/v1/cases/{room.case_id}/messages", {"body": "hi"})).status_code == 404
        assert (await stranger.api("DELETE", f"/api/v1/cases/{room.case_id}/messages/{first}")).status_code == 404
        await stranger.get("/cases")
        assert (await stranger.post(f"/cases/{room.case_id}/messages/{first}/delete")).status_code == 404

    async with web.browser() as katy:
        await katy.login("katy@example.com")
        home = await katy.get(f"/cases/{room.case_id}")
        assert f"/cases/{room.case_id}/messages/{first}/delete" in home.text
        assert 'data-confirm="Delete this message? This cannot be undone."' in home.text  # the browser asks first
        assert (await katy.post(f"/cases/{room.case_id}/messages/{first}/delete", csrf=False)).status_code == 403  # CSRF still applies
        # Without JavaScript nobody has asked yet: the button leads to a page that asks, and nothing is deleted.
        asked = await katy.post(f"/cases/{room.case_id}/messages/{first}/delete", {"confirmed": ""})
        assert asked.status_code == 200 and "Delete this message?" in asked.text and "This cannot be undone." in asked.text
        assert "Katy&#39;s first" in asked.text and 'name="confirmed" value="yes"' in asked.text
        assert f'href="/cases/{room.case_id}#message-{first}"' in asked.text  # "No, keep it"
        assert "Katy&#39;s first" in (await katy.get(f"/cases/{room.case_id}")).text
        done = await katy.post(f"/cases/{room.case_id}/messages/{first}/delete", {"confirmed": "yes"})
        assert done.status_code == 303
        assert "Katy&#39;s first" not in (await katy.get(f"/cases/{room.case_id}")).text

    async with web.browser() as staff:
        await staff.login("staff@car.org")
        await staff.get(f"/cases/{room.case_id}")
        assert (await staff.api("DELETE", f"/api/v1/cases/{room.case_id}/messages/{second}")).status_code == 204
    async with web.sessions() as session:
        assert (await session.execute(select(Message))).scalars().all() == []


# ---- Intake Details and Users ------------------------------------------------------------------------


async def test_intake_details_are_for_parties_representatives_and_the_mediator_not_interested_persons(web):
    room = await case_room(web)
    for email in ("katy@example.com", "agent@example.com", "mia@example.com", "staff@car.org"):
        async with web.browser() as b:
            await b.login(email)
            page = await b.get(f"/cases/{room.case_id}/intake")
            assert page.status_code == 200, email
            for text in (
                "1234 Music Way, Los Angeles, CA 90210",
                "Failure to disclose a known defect",
                "Estimation of Dispute Value",
                "$75,001 and over",
                "The deposit was kept.<br>The roof leaks.",
                "Katy Perry",
                SMALL_CLAIMS,
            ):
                assert text in page.text, (email, text)
            got = (await b.api("GET", f"/api/v1/cases/{room.case_id}/intake")).json()
            assert got["dispute_bases"] == ["Deposit dispute", "Failure to disclose a known defect"] and got["filed_by_name"] == "Katy Perry"

    async with web.browser() as guest:
        await guest.login("guest@example.com")
        assert (await guest.get(f"/cases/{room.case_id}/intake")).status_code == 404
        assert (await guest.api("GET", f"/api/v1/cases/{room.case_id}/intake")).status_code == 404
        assert f"/cases/{room.case_id}/intake" not in (await guest.get(f"/cases/{room.case_id}/users")).text  # no tab either
    async with web.browser() as stranger:
        await stranger.login("stranger@example.com")
        assert (await stranger.get(f"/cases/{room.case_id}/intake")).status_code == 404
        assert (await stranger.get(f"/cases/{room.case_id}/users")).status_code == 404


def row_of(html: str, name: str) -> str:
    found = re.search(r"<tr data-role=\"[a-z]+\">\s*<td[^>]*>" + re.escape(name) + r".*?</tr>", html, re.S)
    assert found, f"no row for {name}"
    return found.group(0)


async def test_users_tab_lists_roles_sides_and_whom_representatives_act_for(web):
    room = await case_room(web)
    async with web.browser() as guest:
        await guest.login("guest@example.com")
        page = await guest.get(f"/cases/{room.case_id}/users")
        assert page.status_code == 200 and "If someone is not listed or needs to be removed" in page.text
        html = page.text
        assert "Party" in row_of(html, "Katy Perry") and "Initiating" in row_of(html, "Katy Perry")
        assert "Responding" in row_of(html, "Taylor Swift")
        agent = row_of(html, "Ann Agent")
        assert "Representative" in agent and "(Agent)" in agent and "Taylor Swift" in agent and "Responding" in agent
        assert "Interested person" in row_of(html, "Ivan Interested") and "(you)" in row_of(html, "Ivan Interested")
        assert "Mediator" in row_of(html, "Mia Mediator")
        assert sorted(("Katy Perry", "Taylor Swift", "Ann Agent", "Ivan Interested", "Mia Mediator"), key=html.index) == [
            "Katy Perry",
            "Taylor Swift",
            "Ann Agent",
            "Ivan Interested",
            "Mia Mediator",
        ]
        assert "Add a participant" not in html and "/remove" not in html
        assert (await guest.post(f"/cases/{room.case_id}/users", {"name": "X", "email": "x@example.com", "role": "interested"})).status_code == 403

        users = (await guest.api("GET", f"/api/v1/cases/{room.case_id}/users")).json()
        assert [(u["name"], u["role"], u["side"]) for u in users] == [
            ("Katy Perry", "party", "initiating"),
            ("Taylor Swift", "party", "responding"),
            ("Ann Agent", "representative", "responding"),
            ("Ivan Interested", "interested", None),
            ("Mia Mediator", "mediator", None),
        ]
        assert users[2]["represents_id"] == room.taylor.id and users[2]["represents_name"] == "Taylor Swift" and users[2]["representative_kind"] == "Agent"


async def test_staff_add_and_remove_participants_from_the_users_tab(web):
    room = await case_room(web)
    async with web.browser() as staff:
        await staff.login("staff@car.org")
        page = await staff.get(f"/cases/{room.case_id}/users")
        assert "Add a participant" in page.text and f"/staff/people/{room.taylor.id}" in page.text
        bad = await staff.post(f"/cases/{room.case_id}/users", {"name": "Rep", "email": "rep@example.com", "role": "representative"})
        assert bad.status_code == 422 and "Choose the party this representative acts for." in bad.text and 'value="rep@example.com"' in bad.text

        added = await staff.post(f"/cases/{room.case_id}/users", {"name": "Nina Neighbor", "email": "nina@example.com", "role": "interested"})
        assert added.status_code == 303 and added.headers["location"].startswith(f"/cases/{room.case_id}/users")
        page = await staff.get(f"/cases/{room.case_id}/users")
        assert "Interested person" in row_of(page.text, "Nina Neighbor")

        async with web.sessions() as session:
            nina = (
                await session.execute(select(Participant).join(Person, Person.id == Participant.person_id).where(Person.email == "nina@example.com"))
            ).scalar_one()
        removed = await staff.post(f"/cases/{room.case_id}/users/{nina.id}/remove")
        assert removed.status_code == 303
        users = (await staff.get(f"/cases/{room.case_id}/users")).text
        assert "Nina Neighbor was removed" in users and "Nina Neighbor" not in users.split("</main>")[0].split('role="status"', 1)[-1].split("</p>", 1)[1]
        assert (await staff.post(f"/cases/{room.case_id}/users/424242/remove")).status_code == 404
