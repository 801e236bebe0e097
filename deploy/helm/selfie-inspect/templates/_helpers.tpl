{{/* Chart name, possibly overridden. */}}
{{- define "selfie-inspect.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-wide name; component objects are "<fullname>-<component>" (at most 63 characters). */}}
{{- define "selfie-inspect.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "selfie-inspect.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "selfie-inspect.labels" -}}
helm.sh/chart: {{ include "selfie-inspect.chart" . }}
app.kubernetes.io/name: {{ include "selfie-inspect.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: selfie-inspect
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "gateway"). */}}
{{- define "selfie-inspect.selectorLabels" -}}
app.kubernetes.io/name: {{ include "selfie-inspect.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "selfie-inspect.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "selfie-inspect.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "selfie-inspect.secretName" -}}
{{- default (include "selfie-inspect.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "selfie-inspect.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Copies the keys of src into dst, recursing into maps present on both sides (sprig's merge functions skip zero
values, so `minReplicas: 0` would be lost). (dict "dst" map "src" map); dst is changed in place.
*/}}
{{- define "selfie-inspect.merge" -}}
{{- $dst := .dst -}}
{{- range $key, $value := .src -}}
{{- if and (kindIs "map" $value) (kindIs "map" (get $dst $key)) -}}
{{- include "selfie-inspect.merge" (dict "dst" (get $dst $key) "src" $value) -}}
{{- else -}}
{{- $_ := set $dst $key $value -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Every queue consumer as YAML ({consumers: [...]}), each one consumerDefaults merged with its entry, plus:
component (the object name suffix and the component label) and entrypoint (the service's main.ts in the image).
*/}}
{{- define "selfie-inspect.consumers" -}}
{{- $consumers := list -}}
{{- range .Values.stageWorkers -}}
{{- $consumer := deepCopy $.Values.consumerDefaults -}}
{{- include "selfie-inspect.merge" (dict "dst" $consumer "src" (deepCopy .)) -}}
{{- $_ := set $consumer "component" (printf "worker-%s" .name) -}}
{{- $_ := set $consumer "entrypoint" (default (printf "services/worker-%s/src/main.ts" .name) .entrypoint) -}}
{{- $consumers = append $consumers $consumer -}}
{{- end -}}
{{- range $key, $component := dict "finalizer" "finalizer" "webhookDispatcher" "webhook-dispatcher" -}}
{{- $consumer := deepCopy $.Values.consumerDefaults -}}
{{- include "selfie-inspect.merge" (dict "dst" $consumer "src" (deepCopy (get $.Values $key))) -}}
{{- $_ := set $consumer "name" $component -}}
{{- $_ := set $consumer "component" $component -}}
{{- $_ := set $consumer "entrypoint" (default (printf "services/%s/src/main.ts" $component) $consumer.entrypoint) -}}
{{- $consumers = append $consumers $consumer -}}
{{- end -}}
{{- toYaml (dict "consumers" $consumers) -}}
{{- end -}}

{{/* Pod-level settings shared by every Deployment: (dict "root" $ "spec" gateway-or-consumer-values). */}}
{{- define "selfie-inspect.podSpecCommon" -}}
serviceAccountName: {{ include "selfie-inspect.serviceAccountName" .root }}
automountServiceAccountToken: false
enableServiceLinks: false
terminationGracePeriodSeconds: {{ add .root.Values.shutdownTimeoutSeconds 10 }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .root.Values.tmpVolume.sizeLimit }}
{{- end -}}

{{/* Container fields shared by every service: image, security context, /tmp, configuration. */}}
{{- define "selfie-inspect.containerCommon" -}}
image: {{ include "selfie-inspect.image" .root | quote }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml .root.Values.containerSecurityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
envFrom:
  - configMapRef:
      name: {{ include "selfie-inspect.fullname" .root }}
env:
  {{- $secret := include "selfie-inspect.secretName" .root }}
  {{- range list "MONGODB_URI" "REDIS_URL" "S3_ACCESS_KEY" "S3_SECRET_KEY" }}
  - name: {{ . }}
    valueFrom:
      secretKeyRef:
        name: {{ $secret }}
        key: {{ . }}
  {{- end }}
  {{- range $name, $value := .spec.env }}
  - name: {{ $name }}
    value: {{ $value | toString | quote }}
  {{- end }}
{{- end -}}

{{/* The three HTTP probes on a named port. (dict "port" "metrics" "startup" startupProbe-values) */}}
{{- define "selfie-inspect.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: {{ .startup.periodSeconds }}
  failureThreshold: {{ .startup.failureThreshold }}
  timeoutSeconds: 3
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: 15
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .port }}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* The Redis host:port KEDA reads queue lengths from. */}}
{{- define "selfie-inspect.kedaRedisAddress" -}}
{{- if .Values.keda.redis.address -}}
{{- .Values.keda.redis.address -}}
{{- else if .Values.secrets.existingSecret -}}
{{- fail "keda.redis.address is required with secrets.existingSecret (KEDA cannot read REDIS_URL from your Secret)" -}}
{{- else -}}
{{- $url := urlParse .Values.redis.url -}}
{{- if contains ":" $url.host -}}{{ $url.host }}{{- else -}}{{ printf "%s:6379" $url.host }}{{- end -}}
{{- end -}}
{{- end -}}

{{- define "selfie-inspect.kedaRedisDatabase" -}}
{{- if ne (toString .Values.keda.redis.databaseIndex) "" -}}
{{- .Values.keda.redis.databaseIndex -}}
{{- else if .Values.secrets.existingSecret -}}
0
{{- else -}}
{{- default "0" (trimPrefix "/" (urlParse .Values.redis.url).path) -}}
{{- end -}}
{{- end -}}

{{- define "selfie-inspect.kedaRedisTLS" -}}
{{- if ne (toString .Values.keda.redis.enableTLS) "" -}}
{{- .Values.keda.redis.enableTLS -}}
{{- else -}}
{{- and (not .Values.secrets.existingSecret) (hasPrefix "rediss://" .Values.redis.url) -}}
{{- end -}}
{{- end -}}

{{/* Key of the Secret with the Redis password for KEDA; empty when Redis needs none. */}}
{{- define "selfie-inspect.kedaRedisPasswordKey" -}}
{{- if .Values.keda.redis.passwordKey -}}
{{- .Values.keda.redis.passwordKey -}}
{{- else if and (not .Values.secrets.existingSecret) .Values.redis.password -}}
redis-password
{{- end -}}
{{- end -}}
