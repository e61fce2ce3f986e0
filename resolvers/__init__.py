"""What each field does. Every rule of the desk lives here, once; no GraphQL types here."""
