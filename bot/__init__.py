"""Herald: a Discord and Slack bot that connects a game's community to the studio's tools."""
