module github.com/cscript-dev/cscript/test/cluster/build

// This module is NOT part of the main cscript module: it holds the small
// programs of the test images (pause, hostile). Kubernetes is built from one
// module per release, kube-v<version>/ (see ../README.md).

go 1.24.0
