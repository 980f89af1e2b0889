package runner

// Labels and annotations cscript puts on what it creates.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	ManagedByValue    = "cscript"
	LabelRunID        = "cscript.dev/run-id"
	LabelScript       = "cscript.dev/script"
	AnnotationDeck    = "cscript.dev/deck"
	AnnotationLibrary = "cscript.dev/library"
	AnnotationCommit  = "cscript.dev/library-commit"
	AnnotationUser    = "cscript.dev/user"
	AnnotationExpires = "cscript.dev/expires"
)
