"""Cards for builds, deployments and changelists, for commands and announcements alike.

Everything ButterStack sends is data: it is escaped before it goes into a
card. Sizes use binary units with the familiar labels (1 GB = 1024³ bytes),
as Windows and Steam show them; times are UTC.
"""

from __future__ import annotations

from datetime import datetime

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

BUILD_LOOKS: dict[str, tuple[str, str, Colour]] = {
    PENDING: ("⏳", "pending", Colour.NEUTRAL),
    RUNNING: ("🔄", "running", Colour.INFO),
    SUCCESS: ("✅", "succeeded", Colour.OK),
    FAILED: ("❌", "FAILED", Colour.ERROR),
}
DEPLOYMENT_FAILURES = ("failed", "error", "rolled_back", "cancelled", "canceled")
BAR_CELLS = 10
PROGRESS_STEPS = 4  # a running card is refreshed at each quarter of the typical duration
MAX_ARTIFACTS = 10
MAX_FILES = 15


def build_look(status: str) -> tuple[str, str, Colour]:
    """Icon, word and colour for a build status; an unknown status is shown as it is."""
    return BUILD_LOOKS.get(status, ("•", status, Colour.NEUTRAL))


def deployment_look(status: str, is_open: bool) -> tuple[str, Colour]:
    if status in DEPLOYMENT_FAILURES:
        return "🛑", Colour.ERROR
    if is_open:
        return "🚚", Colour.INFO
    return "🚀", Colour.OK if status == "live" else Colour.NEUTRAL


def human_size(size: int) -> str:
    """`1234567890` -> `1.15 GB`."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):  # noqa: B007 - the unit reached is the one shown
        value /= 1024
        if value < 1024:
            break
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


def human_duration(seconds: float) -> str:
    """`1234` -> `20m 34s`; `3900` -> `1h 05m`; `45` -> `45s`."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else None


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
        return f"{bar} longer than usual: {took} (typically ~{usual})"
    return f"{bar} {int(fraction * 100)}% · {took} of ~{usual}"


def target(build: Build) -> str | None:
    """`win64 · shipping`: what the build makes."""
    parts = [escape(p) for p in (build.platform, build.configuration) if p]
    return " · ".join(parts) or None


def _what(build: Build) -> str:
    made = target(build)
    return f" ({made})" if made else ""


def build_title(build: Build) -> str:
    """The build named in plain words: `Build build_812 (win64 · shipping)`."""
    return f"Build {escape(build.id)}{_what(build)}"


def build_line(build: Build) -> str:
    """One line: `❌ Build build_812 (win64 · shipping) FAILED · CL 12345 · 20m 34s`."""
    icon, word, _ = build_look(build.status)
    parts = [f"{icon} {link(f'Build {build.id}', build.url)}{_what(build)} {word}"]
    if build.changelist:
        parts.append(f"CL {escape(build.changelist)}")
    if build.duration_seconds is not None and not build.is_open:
        parts.append(human_duration(build.duration_seconds))
    return " · ".join(parts)


def changelist_text(number: str, changelist: Changelist | None) -> str:
    """`12345 by john.doe` and the first line of its description, when known."""
    line = escape(number)
    if changelist is None:
        return line
    if changelist.author:
        line += f" by {escape(changelist.author)}"
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
        lines.append(f"… and {len(build.artifacts) - MAX_ARTIFACTS} more")
    return "\n".join(lines) or None


def build_card(
    build: Build,
    *,
    now: datetime,
    changelist: Changelist | None = None,
    typical: float | None = None,
) -> Card:
    """A build's full card: what the live announcement shows and `/build status` answers."""
    icon, word, colour = build_look(build.status)
    card = Card(
        title=f"{icon} Build {escape(build.id)} {word}",
        url=build.url,
        colour=colour,
        footer=f"ButterStack · {build.project_id}" if build.project_id else "ButterStack",
        timestamp=build.finished_at or build.started_at,
    )
    if build.status == FAILED:
        where = f" on {target(build)}" if target(build) else ""
        card.description = f"**This build failed**{where}."
    card.add_field("Platform", target(build))
    card.add_field("Branch", escape(build.branch) if build.branch else None)
    if build.changelist:
        card.add_field("Changelist", changelist_text(build.changelist, changelist), inline=False)
    card.add_field("Started", stamp(build.started_at))
    card.add_field("Finished", stamp(build.finished_at))
    elapsed = build.elapsed(now)
    if elapsed is not None:
        card.add_field("Duration", human_duration(elapsed) + (" so far" if build.is_open else ""))
    if build.status == RUNNING and elapsed is not None and typical:
        card.add_field("Progress", progress_bar(elapsed, typical), inline=False)
    if build.status == SUCCESS:
        card.add_field("Artifacts", artifacts_text(build), inline=False)
    return card


def builds_card(project: str, builds: list[Build], status: str | None = None) -> Card:
    """A list of builds, one line each, newest first."""
    word = build_look(status)[1].lower() if status else None
    lines = [build_line(b) for b in builds]
    return Card(
        title=f"{word.capitalize() if word else 'Recent'} builds of {escape(project)}",
        description="\n".join(lines) or (f"No {word} builds." if word else "No builds yet."),
        colour=Colour.INFO,
        footer="ButterStack",
    )


def deployment_title(deployment: Deployment) -> str:
    where = "/".join(escape(p) for p in (deployment.platform, deployment.branch) if p)
    return f"Deployment {escape(deployment.id)}" + (f" to {where}" if where else "")


def deployment_line(deployment: Deployment) -> str:
    icon, _ = deployment_look(deployment.status, deployment.is_open)
    title = deployment_title(deployment)
    url = safe_url(deployment.url)
    parts = [f"{icon} [{title}]({url})" if url else f"{icon} {title}"]
    parts.append(escape(deployment.status))
    if deployment.build_id:
        parts.append(f"build {escape(deployment.build_id)}")
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
        card.add_field("Build", escape(deployment.build_id) + (_what(build) if build else ""))
    card.add_field("Platform", escape(deployment.platform) if deployment.platform else None)
    card.add_field("Branch", escape(deployment.branch) if deployment.branch else None)
    card.add_field("Status", escape(deployment.status))
    card.add_field("Time", stamp(deployment.deployed_at))
    return card


def deployments_card(project: str, deployments: list[Deployment]) -> Card:
    return Card(
        title=f"Recent deployments of {escape(project)}",
        description="\n".join(deployment_line(d) for d in deployments) or "No deployments yet.",
        colour=Colour.INFO,
        footer="ButterStack",
    )


def changelist_card(changelist: Changelist) -> Card:
    card = Card(
        title=f"Changelist {escape(changelist.number)}",
        description=escape(truncate(changelist.description or "", 1500)) or None,
        colour=Colour.ACCENT,
        footer="ButterStack · Perforce",
        timestamp=changelist.submitted_at,
    )
    card.add_field("Author", escape(changelist.author) if changelist.author else None)
    card.add_field("Submitted", stamp(changelist.submitted_at))
    files = [
        f"{escape(f.action)}: {escape(f.path)}" if f.action else escape(f.path)
        for f in changelist.files[:MAX_FILES]
    ]
    if len(changelist.files) > MAX_FILES:
        files.append(f"… and {len(changelist.files) - MAX_FILES} more")
    card.add_field(f"Files ({len(changelist.files)})", "\n".join(files), inline=False)
    return card
