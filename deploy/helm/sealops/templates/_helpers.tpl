{{/* Name of the controller's objects; `seal` looks for the Service sealops-controller. */}}
{{- define "sealops.fullname" -}}
{{- default "sealops-controller" .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sealops.serviceAccountName" -}}
{{- default (include "sealops.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Labels that never change for the life of a release: the Deployment's selector. */}}
{{- define "sealops.selectorLabels" -}}
app.kubernetes.io/name: sealops
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "sealops.labels" -}}
{{ include "sealops.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "sealops.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* Several replicas need kopf peering: one works, the others wait. */}}
{{- define "sealops.peered" -}}
{{- if gt (int .Values.replicas) 1 }}true{{ end -}}
{{- end -}}
