"""The build pipeline: parse → reason → validate → publish, one module per step."""
