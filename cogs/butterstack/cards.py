"""Cards for builds, deployments and changelists, for commands and announcements alike.

Everything ButterStack sends is data: it is escaped before it goes into a
card. Sizes use binary units with the familiar labels (1 GB = 1024³ bytes),
as Windows and Steam show them; times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.i18n import N_, _, _n, format_decimal_places, format_moment, format_number
from bot.models import Card, Colour
from bot.text import escape, link, safe_url, truncate
from cogs.butterstack.models import (
    FAILED,
    PENDING,
    RUNNING,
    SUCCESS,
    Build,
    Changelist,
    Deployment,
)


@dataclass(frozen=True)
class Look:
    """How a build status is shown; its texts are marked here and translated where shown."""

    icon: str
    colour: Colour
    word: str
    title: str  # the card's title, `{build}` the build id
    listed: str  # the title of a list of such builds, `{project}` the project
    none: str  # what that list says when it is empty


BUILD_LOOKS: dict[str, Look] = {
    PENDING: Look(
        "⏳",
        Colour.NEUTRAL,
        N_("pending"),
        N_("Build {build} pending"),
        N_("Pending builds of {project}"),
        N_("No pending builds."),
    ),
    RUNNING: Look(
        "🔄",
        Colour.INFO,
        N_("running"),
        N_("Build {build} running"),
        N_("Running builds of {project}"),
        N_("No running builds."),
    ),
    SUCCESS: Look(
        "✅",
        Colour.OK,
        N_("succeeded"),
        N_("Build {build} succeeded"),
        N_("Succeeded builds of {project}"),
        N_("No succeeded builds."),
    ),
    FAILED: Look(
        "❌",
        Colour.ERROR,
        N_("FAILED"),
        N_("Build {build} FAILED"),
        N_("Failed builds of {project}"),
        N_("No failed builds."),
    ),
}
DEPLOYMENT_FAILURES = ("failed", "error", "rolled_back", "cancelled", "canceled")
BAR_CELLS = 10
PROGRESS_STEPS = 4  # a running card is refreshed at each quarter of the typical duration
MAX_ARTIFACTS = 10
MAX_FILES = 15


def build_look(status: str) -> tuple[str, str, Colour]:
    """Icon, word and colour for a build status; an unknown status is shown as it is."""
    look = BUILD_LOOKS.get(status)
    if look is None:
        return "•", status, Colour.NEUTRAL
    return look.icon, _(look.word), look.colour


def build_heading(build: Build) -> str:
    """`Build build_812 FAILED`: the build and its status, in one sentence."""
    look = BUILD_LOOKS.get(build.status)
    if look is None:
        return _("Build {build} {status}", build=escape(build.id), status=build.status)
    return _(look.title, build=escape(build.id))


def deployment_look(status: str, is_open: bool) -> tuple[str, Colour]:
    if status in DEPLOYMENT_FAILURES:
        return "🛑", Colour.ERROR
    if is_open:
        return "🚚", Colour.INFO
    return "🚀", Colour.OK if status == "live" else Colour.NEUTRAL


def human_size(size: int) -> str:
    """`1234567890` -> `1.15 GB`, the number written as the current language writes it."""
    if size < 1024:
        return f"{format_number(size)} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):  # noqa: B007 - the unit reached is the one shown
        value /= 1024
        if value < 1024:
            break
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{format_decimal_places(value, digits)} {unit}"


def human_duration(seconds: float) -> str:
    """`1234` -> `20m 34s`; `3900` -> `1h 05m`; `45` -> `45s`."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("{hours}h {minutes}m", hours=format_number(hours), minutes=str(minutes).zfill(2))
    if minutes:
        return _(
            "{minutes}m {seconds}s", minutes=format_number(minutes), seconds=str(secs).zfill(2)
        )
    return _("{seconds}s", seconds=format_number(secs))


def stamp(moment: datetime | None) -> str | None:
    """A time as the current language writes it; ButterStack's times are UTC."""
    return _("{moment} UTC", moment=format_moment(moment)) if moment else None


def progress_step(elapsed: float, typical: float) -> int:
    """Which quarter of the typical duration a running build is in (4: past it)."""
    return min(PROGRESS_STEPS, int(elapsed / typical * PROGRESS_STEPS))


def progress_bar(elapsed: float, typical: float) -> str:
    """`▰▰▰▰▱▱▱▱▱▱ 40% · 8m 00s of ~20m 00s`, elapsed against the typical duration."""
    fraction = elapsed / typical
    filled = min(BAR_CELLS, int(fraction * BAR_CELLS))
    bar = "▰" * filled + "▱" * (BAR_CELLS - filled)
    took, usual = human_duration(elapsed), human_duration(typical)
    if fraction >= 1:
        return _(
            "{bar} longer than usual: {took} (typically ~{usual})", bar=bar, took=took, usual=usual
        )
    percent = format_number(int(fraction * 100))
    return _(
        "{bar} {percent}% · {took} of ~{usual}", bar=bar, percent=percent, took=took, usual=usual
    )


def target(build: Build) -> str | None:
    """`win64 · shipping`: what the build makes."""
    parts = [escape(p) for p in (build.platform, build.configuration) if p]
    return " · ".join(parts) or None


def _what(build: Build) -> str:
    made = target(build)
    return f" ({made})" if made else ""


def build_name(build_id: str) -> str:
    """`Build build_812`, not yet escaped."""
    return _("Build {build}", build=build_id)


def build_title(build: Build) -> str:
    """The build named in plain words: `Build build_812 (win64 · shipping)`."""
    return f"{build_name(escape(build.id))}{_what(build)}"


def build_line(build: Build) -> str:
    """One line: `❌ Build build_812 (win64 · shipping) FAILED · CL 12345 · 20m 34s`."""
    icon, word, _colour = build_look(build.status)
    parts = [f"{icon} {link(build_name(build.id), build.url)}{_what(build)} {word}"]
    if build.changelist:
        parts.append(_("CL {changelist}", changelist=escape(build.changelist)))
    if build.duration_seconds is not None and not build.is_open:
        parts.append(human_duration(build.duration_seconds))
    return " · ".join(parts)


def changelist_text(number: str, changelist: Changelist | None) -> str:
    """`12345 by john.doe` and the first line of its description, when known."""
    line = escape(number)
    if changelist is None:
        return line
    if changelist.author:
        line = _("{changelist} by {author}", changelist=line, author=escape(changelist.author))
    first = (changelist.description or "").strip().splitlines()
    if first:
        line += f"\n{escape(truncate(first[0], 200))}"
    return line


def artifacts_text(build: Build) -> str | None:
    lines = []
    for artifact in build.artifacts[:MAX_ARTIFACTS]:
        size = f" · {human_size(artifact.size_bytes)}" if artifact.size_bytes is not None else ""
        lines.append(f"{link(artifact.name, artifact.url)}{size}")
    if len(build.artifacts) > MAX_ARTIFACTS:
        hidden = len(build.artifacts) - MAX_ARTIFACTS
        lines.append(_n("… and {count} more artifact", "… and {count} more artifacts", hidden))
    return "\n".join(lines) or None


def build_card(
    build: Build,
    *,
    now: datetime,
    changelist: Changelist | None = None,
    typical: float | None = None,
) -> Card:
    """A build's full card: what the live announcement shows and `/build status` answers."""
    icon, _word, colour = build_look(build.status)
    card = Card(
        title=f"{icon} {build_heading(build)}",
        url=build.url,
        colour=colour,
        footer=f"ButterStack · {build.project_id}" if build.project_id else "ButterStack",
        timestamp=build.finished_at or build.started_at,
    )
    if build.status == FAILED:
        made = target(build)
        card.description = (
            _("**This build failed** on {target}.", target=made)
            if made
            else _("**This build failed**.")
        )
    card.add_field(_("Platform"), target(build))
    card.add_field(_("Branch"), escape(build.branch) if build.branch else None)
    if build.changelist:
        card.add_field(_("Changelist"), changelist_text(build.changelist, changelist), inline=False)
    card.add_field(_("Started"), stamp(build.started_at))
    card.add_field(_("Finished"), stamp(build.finished_at))
    elapsed = build.elapsed(now)
    if elapsed is not None:
        took = human_duration(elapsed)
        card.add_field(
            _("Duration"), _("{duration} so far", duration=took) if build.is_open else took
        )
    if build.status == RUNNING and elapsed is not None and typical:
        card.add_field(_("Progress"), progress_bar(elapsed, typical), inline=False)
    if build.status == SUCCESS:
        card.add_field(_("Artifacts"), artifacts_text(build), inline=False)
    return card


def builds_card(project: str, builds: list[Build], status: str | None = None) -> Card:
    """A list of builds, one line each, newest first."""
    look = BUILD_LOOKS.get(status) if status else None
    lines = [build_line(b) for b in builds]
    if look is not None:
        title, empty = _(look.listed, project=escape(project)), _(look.none)
    elif status:
        title = _("{status} builds of {project}", status=escape(status), project=escape(project))
        empty = _("No {status} builds.", status=escape(status))
    else:
        title, empty = _("Recent builds of {project}", project=escape(project)), _("No builds yet.")
    return Card(
        title=title, description="\n".join(lines) or empty, colour=Colour.INFO, footer="ButterStack"
    )


def deployment_title(deployment: Deployment) -> str:
    where = "/".join(escape(p) for p in (deployment.platform, deployment.branch) if p)
    if where:
        return _(
            "Deployment {deployment} to {where}", deployment=escape(deployment.id), where=where
        )
    return _("Deployment {deployment}", deployment=escape(deployment.id))


def deployment_line(deployment: Deployment) -> str:
    icon, _colour = deployment_look(deployment.status, deployment.is_open)
    title = deployment_title(deployment)
    url = safe_url(deployment.url)
    parts = [f"{icon} [{title}]({url})" if url else f"{icon} {title}"]
    parts.append(escape(deployment.status))
    if deployment.build_id:
        parts.append(_("build {build}", build=escape(deployment.build_id)))
    if deployment.deployed_at:
        parts.append(stamp(deployment.deployed_at) or "")
    return " · ".join(parts)


def deployment_card(deployment: Deployment, build: Build | None = None) -> Card:
    """A deployment's card; with its `build` known, the build says what it ships."""
    icon, colour = deployment_look(deployment.status, deployment.is_open)
    card = Card(
        title=f"{icon} {deployment_title(deployment)}: {escape(deployment.status)}",
        url=deployment.url,
        colour=colour,
        footer=f"ButterStack · {deployment.project_id}" if deployment.project_id else "ButterStack",
        timestamp=deployment.deployed_at,
    )
    if deployment.build_id:
        card.add_field(_("Build"), escape(deployment.build_id) + (_what(build) if build else ""))
    card.add_field(_("Platform"), escape(deployment.platform) if deployment.platform else None)
    card.add_field(_("Branch"), escape(deployment.branch) if deployment.branch else None)
    card.add_field(_("Status"), escape(deployment.status))
    card.add_field(_("Time"), stamp(deployment.deployed_at))
    return card


def deployments_card(project: str, deployments: list[Deployment]) -> Card:
    return Card(
        title=_("Recent deployments of {project}", project=escape(project)),
        description="\n".join(deployment_line(d) for d in deployments) or _("No deployments yet."),
        colour=Colour.INFO,
        footer="ButterStack",
    )


def changelist_card(changelist: Changelist) -> Card:
    card = Card(
        title=_("Changelist {changelist}", changelist=escape(changelist.number)),
        description=escape(truncate(changelist.description or "", 1500)) or None,
        colour=Colour.ACCENT,
        footer="ButterStack · Perforce",
        timestamp=changelist.submitted_at,
    )
    card.add_field(_("Author"), escape(changelist.author) if changelist.author else None)
    card.add_field(_("Submitted"), stamp(changelist.submitted_at))
    files = [
        f"{escape(f.action)}: {escape(f.path)}" if f.action else escape(f.path)
        for f in changelist.files[:MAX_FILES]
    ]
    if len(changelist.files) > MAX_FILES:
        hidden = len(changelist.files) - MAX_FILES
        files.append(_n("… and {count} more file", "… and {count} more files", hidden))
    card.add_field(
        _n("Files ({count})", "Files ({count})", len(changelist.files)),
        "\n".join(files),
        inline=False,
    )
    return card
