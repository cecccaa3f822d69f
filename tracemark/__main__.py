from tracemark.cli import app

app()
