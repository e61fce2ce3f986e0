"""What each field does. Every rule of the desk lives here, once; nothing here knows GraphQL types."""
