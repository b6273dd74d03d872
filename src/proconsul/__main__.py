from proconsul.cli.main import run

run()
