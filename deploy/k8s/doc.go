// Package k8s holds the Kubernetes manifests that run imload's shards as an
// Indexed Job (imload-shards.yaml), the image they run (Dockerfile) and how
// to collect and merge the results (README.md). It has no code: its test
// decodes the manifests and checks that their parts agree (shard count,
// names, the scenario). It must not be imported.
package k8s
