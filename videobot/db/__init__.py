"""The app database: models, migrations, the job store."""
