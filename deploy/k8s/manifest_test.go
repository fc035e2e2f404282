package k8s

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/imload/imload/scenario"
)

// object is the part of a Kubernetes object the test reads.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		CompletionMode string           `yaml:"completionMode"`
		Completions    *int             `yaml:"completions"`
		Parallelism    *int             `yaml:"parallelism"`
		Ports          []map[string]any `yaml:"ports"`
		Template       podTemplate      `yaml:"template"`
	} `yaml:"spec"`
}

type podTemplate struct {
	Spec struct {
		RestartPolicy string      `yaml:"restartPolicy"`
		Containers    []container `yaml:"containers"`
		Volumes       []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name string `yaml:"name"`
			} `yaml:"configMap"`
		} `yaml:"volumes"`
	} `yaml:"spec"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func decodeAll(t *testing.T, path string) map[string]*object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	objs := map[string]*object{}
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if o.Kind == "" || o.APIVersion == "" || o.Metadata.Name == "" {
			t.Fatalf("%s: an object without kind, apiVersion or name: %+v", path, o)
		}
		key := o.Kind + "/" + o.Metadata.Name
		if objs[key] != nil {
			t.Fatalf("%s: %s twice", path, key)
		}
		objs[key] = &o
	}
	return objs
}

func need(t *testing.T, objs map[string]*object, key string) *object {
	t.Helper()
	o := objs[key]
	if o == nil {
		keys := make([]string, 0, len(objs))
		for k := range objs {
			keys = append(keys, k)
		}
		t.Fatalf("no %s in the manifest (it has %v)", key, keys)
	}
	return o
}

func TestShardsManifest(t *testing.T) {
	objs := decodeAll(t, "imload-shards.yaml")

	// The Job: Indexed, N completions at once, each pod one shard of N.
	job := need(t, objs, "Job/imload-shards")
	if job.APIVersion != "batch/v1" {
		t.Errorf("Job apiVersion %q", job.APIVersion)
	}
	if job.Spec.CompletionMode != "Indexed" {
		t.Errorf("completionMode %q, want Indexed", job.Spec.CompletionMode)
	}
	if job.Spec.Completions == nil || job.Spec.Parallelism == nil || *job.Spec.Completions != *job.Spec.Parallelism || *job.Spec.Completions < 2 {
		t.Fatalf("completions %v and parallelism %v: want the same N ≥ 2", job.Spec.Completions, job.Spec.Parallelism)
	}
	n := *job.Spec.Completions
	pod := job.Spec.Template.Spec
	if pod.RestartPolicy != "Never" {
		t.Errorf("restartPolicy %q: a shard must not restart half-way", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers in the shard pod", len(pod.Containers))
	}
	c := pod.Containers[0]
	script := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
	for _, want := range []string{"imload run", "--shards " + strconv.Itoa(n), "$JOB_COMPLETION_INDEX", "--target \"$TARGET\"", "--metrics-addr", "2>&1", "cat \"/results/shard-$JOB_COMPLETION_INDEX.json\""} {
		if !strings.Contains(script, want) {
			t.Errorf("the shard's command lacks %q:\n%s", want, script)
		}
	}
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
		switch e.Name {
		case "JOB_COMPLETION_INDEX":
			if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || !strings.Contains(e.ValueFrom.FieldRef.FieldPath, "job-completion-index") {
				t.Errorf("JOB_COMPLETION_INDEX does not come from the job-completion-index annotation")
			}
		case "TARGET":
			if !strings.HasPrefix(e.Value, "ws://imload-serve:") {
				t.Errorf("TARGET %q does not name the imload-serve Service", e.Value)
			}
		case "IMLOAD_KEY":
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Fatal("IMLOAD_KEY does not come from a Secret")
			}
			need(t, objs, "Secret/"+e.ValueFrom.SecretKeyRef.Name)
		}
	}
	for _, name := range []string{"JOB_COMPLETION_INDEX", "TARGET", "IMLOAD_KEY"} {
		if !env[name] {
			t.Errorf("the shard container has no %s", name)
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["scenario"] != "/etc/imload" || mounts["results"] != "/results" {
		t.Errorf("mounts %v: want scenario at /etc/imload and results at /results", mounts)
	}

	// The scenario the pods mount parses, uses the key the pods get, and
	// splits into N shards.
	var cmName string
	for _, v := range pod.Volumes {
		if v.Name == "scenario" && v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	cm := need(t, objs, "ConfigMap/"+cmName)
	sc, err := scenario.Parse([]byte(cm.Data["scenario.yaml"]), "scenario.yaml")
	if err != nil {
		t.Fatalf("the ConfigMap's scenario.yaml: %v", err)
	}
	if sc.Target.KeyEnv != "IMLOAD_KEY" {
		t.Errorf("the scenario reads its key from %q, the pods set IMLOAD_KEY", sc.Target.KeyEnv)
	}
	if sc.Population.Users < n {
		t.Errorf("%d users cannot be split over %d shards", sc.Population.Users, n)
	}

	// The reference server the shards drive.
	dep := need(t, objs, "Deployment/imload-serve")
	sargs := strings.Join(dep.Spec.Template.Spec.Containers[0].Args, " ")
	for _, want := range []string{"serve", "--scenario /etc/imload/scenario.yaml", "--key-env IMLOAD_KEY", "0.0.0.0:9000"} {
		if !strings.Contains(sargs, want) {
			t.Errorf("the server's args lack %q: %s", want, sargs)
		}
	}
	svc := need(t, objs, "Service/imload-serve")
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0]["port"] != 9000 {
		t.Errorf("Service ports %v, want 9000", svc.Spec.Ports)
	}
}
