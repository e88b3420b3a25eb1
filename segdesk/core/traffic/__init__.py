"""Where a visit came from and on what device: channel rules, referrer lists, user agents."""
