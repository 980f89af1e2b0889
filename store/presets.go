package store

import "strings"

// BuiltinPresets returns the presets every library has, as a fresh map of
// preset name → image reference. A library's cscript.yaml can add to them or
// override them.
//
//	shell    busybox with sh
//	debian   Debian with bash
//	python   Python 3.11
//	postgres PostgreSQL 15 with its client tools (psql, pg_dump, pg_restore)
func BuiltinPresets() map[string]string {
	return map[string]string{
		"shell":    "docker.io/library/busybox:1.36",
		"debian":   "docker.io/library/debian:bookworm-slim",
		"python":   "docker.io/library/python:3.11-slim",
		"postgres": "docker.io/library/postgres:15",
	}
}

// ResolveImage returns the image of the preset named image, or image itself
// when no preset has that name.
func ResolveImage(image string, presets map[string]string) string {
	if ref, ok := presets[strings.TrimSpace(image)]; ok {
		return ref
	}
	return image
}

// isBareImageName reports whether image is a single word with neither a
// registry, a tag nor a digest: not a preset name means a typo or an unpinned image.
func isBareImageName(image string) bool {
	return image != "" && !strings.ContainsAny(image, "/:@. \t{")
}
