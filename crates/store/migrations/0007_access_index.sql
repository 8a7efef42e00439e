-- Shuqiao schema v7: data accesses by time, for the exchange volume of monitoring (action, then time).
CREATE INDEX audit_events_action_at ON audit_events(action, at);
