//! relay-rs: a media relay core that reports its stream statistics through the embedded agent.
