"""Work done after commit: assessments and emails, leased from the job table."""
