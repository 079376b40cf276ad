{{- define "peregrine.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "peregrine.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "peregrine.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "peregrine.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: dict "root" $ "component" "features" */}}
{{- define "peregrine.selectorLabels" -}}
app.kubernetes.io/name: {{ include "peregrine.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "peregrine.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end -}}

{{- define "peregrine.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "peregrine.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "peregrine.secretName" -}}
{{- default (printf "%s-secrets" (include "peregrine.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* One variable from the Secret, when an existing Secret is named or the value is set: dict "root" $ "name" "PEREGRINE__…" "key" "…" "value" "…" */}}
{{- define "peregrine.secretEnv" -}}
{{- if or .root.Values.secrets.existingSecret .value }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "peregrine.secretName" .root }}
      key: {{ .key }}
      optional: true
{{- end }}
{{- end -}}

{{/* What every Peregrine process gets: the config file's directory, metrics on the pod's network, and the secrets the servers need. */}}
{{- define "peregrine.commonEnv" -}}
- name: PEREGRINE_LOG_FORMAT
  value: json
- name: PEREGRINE__METRICS__HOST
  value: "0.0.0.0"
- name: PEREGRINE__METRICS__PORT
  value: {{ .Values.metrics.port | quote }}
{{- include "peregrine.secretEnv" (dict "root" . "name" "PEREGRINE__METRICS__AUTH_TOKEN" "key" "metrics-auth-token" "value" .Values.secrets.metricsAuthToken) }}
{{- include "peregrine.secretEnv" (dict "root" . "name" "PEREGRINE__ELASTICSEARCH__PASSWORD" "key" "elasticsearch-password" "value" .Values.secrets.elasticsearchPassword) }}
{{- include "peregrine.secretEnv" (dict "root" . "name" "PEREGRINE__ELASTICSEARCH__API_KEY" "key" "elasticsearch-api-key" "value" .Values.secrets.elasticsearchApiKey) }}
{{- include "peregrine.secretEnv" (dict "root" . "name" "PEREGRINE__KAFKA__SASL__PASSWORD" "key" "kafka-sasl-password" "value" .Values.secrets.kafkaSaslPassword) }}
{{- end -}}

{{- define "peregrine.configVolume" -}}
- name: config
  configMap:
    name: {{ include "peregrine.fullname" . }}-config
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end -}}

{{- define "peregrine.configMounts" -}}
- name: config
  mountPath: /etc/peregrine
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* /healthz probes on a named port: liveness, readiness, and a startup probe for slow starts (models loading). */}}
{{- define "peregrine.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: {{ . }} }
  periodSeconds: 5
  failureThreshold: 60
livenessProbe:
  httpGet: { path: /healthz, port: {{ . }} }
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /healthz, port: {{ . }} }
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 2
{{- end -}}

{{/*
A Deployment of one Peregrine process: dict "root" $ "component" "features" "values" .Values.features
"args" (list …) "ports" (list (dict "name" "metrics" "port" 9464)) "probePort" "metrics" "env" (list …)
*/}}
{{- define "peregrine.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "peregrine.fullname" $root }}-{{ .component }}
  labels:
    {{- include "peregrine.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  replicas: {{ .values.replicas }}
  selector:
    matchLabels:
      {{- include "peregrine.selectorLabels" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "peregrine.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .component }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    spec:
      serviceAccountName: {{ include "peregrine.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "peregrine.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args:
            {{- toYaml .args | nindent 12 }}
          ports:
            {{- range .ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: TCP
            {{- end }}
          env:
            {{- include "peregrine.commonEnv" $root | nindent 12 }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- include "peregrine.probes" .probePort | nindent 10 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          volumeMounts:
            {{- include "peregrine.configMounts" $root | nindent 12 }}
      volumes:
        {{- include "peregrine.configVolume" $root | nindent 8 }}
      {{- with .values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* A Service for one component: dict "root" $ "component" "features" "ports" (list (dict "name" "metrics" "port" 9464)) "type" "ClusterIP" "headless" false */}}
{{- define "peregrine.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "peregrine.fullname" .root }}-{{ .component }}
  labels:
    {{- include "peregrine.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  type: {{ default "ClusterIP" .type }}
  {{- if .headless }}
  clusterIP: None
  {{- end }}
  selector:
    {{- include "peregrine.selectorLabels" (dict "root" .root "component" .component) | nindent 4 }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* Consumer-group members beyond the partitions get nothing to read: refuse them. */}}
{{- define "peregrine.checkReplicas" -}}
{{- $partitions := int (default 6 (dig "topics" "partitions" 6 .root.Values.config)) -}}
{{- if gt (int .values.replicas) $partitions -}}
{{- fail (printf "%s.replicas (%d) is more than config.topics.partitions (%d): the extra consumers of the group would get no partition" .component (int .values.replicas) $partitions) -}}
{{- end -}}
{{- end -}}
