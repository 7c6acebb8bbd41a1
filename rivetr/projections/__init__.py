"""The read model: tables in read.db built from the log, droppable and rebuildable at any time."""
