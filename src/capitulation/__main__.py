from capitulation.cli import app

app()
