{{- define "steward.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "steward.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "steward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "steward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "steward.labels" -}}
{{ include "steward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "steward.validate" -}}
{{- if not (has .Values.mode (list "sqlite" "postgres")) -}}
{{- fail (printf "mode must be sqlite or postgres, not %q" .Values.mode) -}}
{{- end -}}
{{- if eq .Values.mode "postgres" -}}
{{- if not .Values.postgres.existingSecret -}}
{{- fail "postgres mode: set postgres.existingSecret (a Secret holding the database URL)" -}}
{{- end -}}
{{- if not .Values.masterKey.existingSecret -}}
{{- fail "postgres mode: set masterKey.existingSecret (every replica needs the same master key)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The pod template shared by the StatefulSet and the Deployment. */}}
{{- define "steward.podTemplate" -}}
metadata:
  labels:
    {{- include "steward.labels" . | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    fsGroup: 65532
    fsGroupChangePolicy: OnRootMismatch
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: steward
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["serve", "--config", "/etc/steward/steward.yaml"]
      env:
        - name: STEWARD_ADDR
          value: "0.0.0.0:8080"
        - name: STEWARD_DATA_DIR
          value: /data
        - name: STEWARD_LOG_FORMAT
          value: json
        - name: STEWARD_LOG_LEVEL
          value: {{ .Values.logLevel | quote }}
        {{- if eq .Values.mode "postgres" }}
        - name: STEWARD_DB
          valueFrom:
            secretKeyRef:
              name: {{ .Values.postgres.existingSecret }}
              key: {{ .Values.postgres.key }}
        {{- end }}
        {{- if .Values.masterKey.existingSecret }}
        - name: STEWARD_MASTER_KEY_FILE
          value: /etc/steward/master-key/key
        {{- end }}
        {{- if .Values.adminToken.existingSecret }}
        - name: STEWARD_ADMIN_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ .Values.adminToken.existingSecret }}
              key: {{ .Values.adminToken.key }}
        {{- end }}
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      startupProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet: {path: /healthz, port: http}
        periodSeconds: 10
      readinessProbe:
        httpGet: {path: /readyz, port: http}
        periodSeconds: 5
      securityContext:
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        privileged: false
        runAsNonRoot: true
        capabilities:
          drop: ["ALL"]
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /data
        - name: tmp
          mountPath: /tmp
        - name: config
          mountPath: /etc/steward/steward.yaml
          subPath: steward.yaml
          readOnly: true
        {{- if .Values.masterKey.existingSecret }}
        - name: master-key
          mountPath: /etc/steward/master-key
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir: {}
    - name: config
      configMap:
        name: {{ include "steward.fullname" . }}
    {{- if .Values.masterKey.existingSecret }}
    - name: master-key
      secret:
        secretName: {{ .Values.masterKey.existingSecret }}
        defaultMode: 0400
        items:
          - key: {{ .Values.masterKey.key }}
            path: key
    {{- end }}
    {{- if eq .Values.mode "postgres" }}
    - name: data
      emptyDir: {}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
