"""Hand-written in-memory fakes of the outside systems, for unit and integration tests alike."""
