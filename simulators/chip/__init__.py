"""An independent model of an eMRTD chip: file system, access control, secure messaging."""
