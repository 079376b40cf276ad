// Command validate decodes rendered Kubernetes manifests (`helm template` output, on stdin) strictly into the
// Kubernetes API Go types: an unknown or misspelt field, a duplicate field, a wrong type or a malformed quantity is an
// error, as is a kind it does not know. It then checks what the API server would only catch at apply time or not at
// all: names, workload selectors matching their pod labels, probes and Services pointing at declared container ports.
//
// Output: one JSON line {"objects":[{"apiVersion","kind","name"}...]} on success; the errors on stderr and exit 1
// otherwise.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The kinds a chart may render; anything else is refused (a typo in apiVersion or kind is caught here).
var kinds = map[string]func() any{
	"v1/ConfigMap":                             func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                                func() any { return &corev1.Secret{} },
	"v1/Service":                               func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                        func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                       func() any { return &appsv1.Deployment{} },
	"apps/v1/DaemonSet":                        func() any { return &appsv1.DaemonSet{} },
	"apps/v1/StatefulSet":                      func() any { return &appsv1.StatefulSet{} },
	"policy/v1/PodDisruptionBudget":            func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler":   func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1/NetworkPolicy":       func() any { return &networkingv1.NetworkPolicy{} },
	"networking.k8s.io/v1/Ingress":             func() any { return &networkingv1.Ingress{} },
	"rbac.authorization.k8s.io/v1/Role":        func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding": func() any { return &rbacv1.RoleBinding{} },
	"monitoring.coreos.com/v1/ServiceMonitor":  func() any { return &monitoringv1.ServiceMonitor{} },
}

type objectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

func main() {
	refs, errs := validateStream(os.Stdin)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, e)
		}
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]any{"objects": refs})
	fmt.Println(string(out))
}

func validateStream(in io.Reader) ([]objectRef, []error) {
	reader := k8syaml.NewYAMLReader(bufio.NewReader(in))
	var refs []objectRef
	var errs []error
	objects := map[string]any{}
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return refs, append(errs, fmt.Errorf("document %d: %w", i, err))
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var meta struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			errs = append(errs, fmt.Errorf("document %d: not YAML: %w", i, err))
			continue
		}
		ref := objectRef{meta.APIVersion, meta.Kind, meta.Metadata.Name}
		where := fmt.Sprintf("%s %s %q", ref.APIVersion, ref.Kind, ref.Name)
		factory, ok := kinds[ref.APIVersion+"/"+ref.Kind]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown apiVersion/kind", where))
			continue
		}
		obj := factory()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		key := ref.Kind + "/" + ref.Name
		if _, dup := objects[key]; dup {
			errs = append(errs, fmt.Errorf("%s: rendered twice", where))
		}
		objects[key] = obj
		for _, problem := range check(obj) {
			errs = append(errs, fmt.Errorf("%s: %s", where, problem))
		}
		refs = append(refs, ref)
	}
	errs = append(errs, crossCheck(objects)...)
	return refs, errs
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}

// check finds what strict decoding cannot: the API server's name rules and a workload's internal consistency.
func check(obj any) []string {
	var problems []string
	accessor, ok := obj.(metav1.Object)
	if ok {
		for _, msg := range validation.IsDNS1123Subdomain(accessor.GetName()) {
			problems = append(problems, "metadata.name: "+msg)
		}
		for k, v := range accessor.GetLabels() {
			for _, msg := range validation.IsQualifiedName(k) {
				problems = append(problems, fmt.Sprintf("label %q: %s", k, msg))
			}
			for _, msg := range validation.IsValidLabelValue(v) {
				problems = append(problems, fmt.Sprintf("label %q value %q: %s", k, v, msg))
			}
		}
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		problems = append(problems, checkWorkload(o.Spec.Selector, &o.Spec.Template)...)
	case *appsv1.DaemonSet:
		problems = append(problems, checkWorkload(o.Spec.Selector, &o.Spec.Template)...)
	case *appsv1.StatefulSet:
		problems = append(problems, checkWorkload(o.Spec.Selector, &o.Spec.Template)...)
	case *corev1.Service:
		if len(o.Spec.Selector) == 0 {
			problems = append(problems, "spec.selector is empty")
		}
		for _, p := range o.Spec.Ports {
			if p.Port == 0 {
				problems = append(problems, fmt.Sprintf("port %q has no number", p.Name))
			}
		}
	}
	return problems
}

func checkWorkload(selector *metav1.LabelSelector, template *corev1.PodTemplateSpec) []string {
	var problems []string
	if selector == nil {
		return []string{"spec.selector is missing"}
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		problems = append(problems, "spec.selector: "+err.Error())
	} else if sel.Empty() || !sel.Matches(labels.Set(template.Labels)) {
		problems = append(problems, "spec.selector does not select the pod template's labels")
	}
	containers := template.Spec.Containers
	if len(containers) == 0 {
		problems = append(problems, "no containers")
	}
	for _, c := range append(append([]corev1.Container{}, template.Spec.InitContainers...), containers...) {
		if c.Image == "" {
			problems = append(problems, fmt.Sprintf("container %q has no image", c.Name))
		}
		for _, probe := range []struct {
			name string
			p    *corev1.Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
			if probe.p != nil && probe.p.HTTPGet != nil && !portDeclared(c, probe.p.HTTPGet.Port) {
				problems = append(problems, fmt.Sprintf("container %q %s: port %s is not a declared container port", c.Name, probe.name, probe.p.HTTPGet.Port.String()))
			}
		}
		for _, m := range c.VolumeMounts {
			if !volumeDeclared(template.Spec.Volumes, m.Name) {
				problems = append(problems, fmt.Sprintf("container %q mounts volume %q, which the pod does not declare", c.Name, m.Name))
			}
		}
	}
	return problems
}

func portDeclared(c corev1.Container, port intstr.IntOrString) bool {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return true
		}
	}
	return false
}

func volumeDeclared(volumes []corev1.Volume, name string) bool {
	for _, v := range volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}

// crossCheck: every Service selects some workload and targets a port its pods declare; every ServiceMonitor selects
// a Service and scrapes one of its named ports.
func crossCheck(objects map[string]any) []error {
	var errs []error
	var pods []corev1.PodTemplateSpec
	var services []*corev1.Service
	for _, obj := range objects {
		switch o := obj.(type) {
		case *appsv1.Deployment:
			pods = append(pods, o.Spec.Template)
		case *appsv1.DaemonSet:
			pods = append(pods, o.Spec.Template)
		case *appsv1.StatefulSet:
			pods = append(pods, o.Spec.Template)
		case *corev1.Service:
			services = append(services, o)
		}
	}
	for _, svc := range services {
		var selected []corev1.PodTemplateSpec
		for _, pod := range pods {
			if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				selected = append(selected, pod)
			}
		}
		if len(selected) == 0 {
			errs = append(errs, fmt.Errorf("Service %q selects no workload's pods", svc.Name))
			continue
		}
		for _, p := range svc.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			for _, pod := range selected {
				declared := false
				for _, c := range pod.Spec.Containers {
					declared = declared || portDeclared(c, target)
				}
				if !declared {
					errs = append(errs, fmt.Errorf("Service %q port %q targets %s, which pods %v do not declare", svc.Name, p.Name, target.String(), pod.Labels))
				}
			}
		}
	}
	for _, obj := range objects {
		monitor, ok := obj.(*monitoringv1.ServiceMonitor)
		if !ok {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&monitor.Spec.Selector)
		if err != nil {
			errs = append(errs, fmt.Errorf("ServiceMonitor %q: %w", monitor.Name, err))
			continue
		}
		for _, ep := range monitor.Spec.Endpoints {
			found := false
			for _, svc := range services {
				if !sel.Matches(labels.Set(svc.Labels)) {
					continue
				}
				for _, p := range svc.Spec.Ports {
					found = found || p.Name == ep.Port
				}
			}
			if !found {
				errs = append(errs, fmt.Errorf("ServiceMonitor %q endpoint port %q is no named port of a Service it selects", monitor.Name, ep.Port))
			}
		}
	}
	return errs
}
