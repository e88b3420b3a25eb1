"""Domain: the workspace store, events, identity, sessions and reports. No Qt, no HTTP."""
