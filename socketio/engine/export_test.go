package engine

// InboxLen is how many received messages wait in s's inbox.
func InboxLen(s *Session) int { return len(s.polled.inbox) }
