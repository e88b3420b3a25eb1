"""Read models every front end calls: a contact's journey, the journey page's timeline, contacts."""
