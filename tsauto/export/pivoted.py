class PivotedPart: pass
