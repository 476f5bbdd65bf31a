// The Swift client lands here (see the client issue).
