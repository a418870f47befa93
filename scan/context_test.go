package scan

import "testing"

func TestPipelineContext(t *testing.T) {
	tests := []struct {
		name, path, content string
		line                int
		want                string
	}{
		{"GitLab CI job variable", ".gitlab-ci.yml", "stages: [deploy]\ndeploy:\n  stage: deploy\n  variables:\n    API_TOKEN: abc\n", 5, "pipeline=gitlab-ci job=deploy env=API_TOKEN"},
		{"GitLab CI global variable", ".gitlab-ci.yml", "variables:\n  API_TOKEN: abc\n", 2, "pipeline=gitlab-ci env=API_TOKEN"},
		{"CircleCI job environment", ".circleci/config.yml", "version: 2.1\njobs:\n  build:\n    environment:\n      NPM_TOKEN: abc\n", 5, "pipeline=circleci job=build env=NPM_TOKEN"},
		{"Azure Pipelines step env", "azure-pipelines.yml", "stages:\n- stage: Deploy\n  jobs:\n  - job: Push\n    steps:\n    - script: ./push.sh\n      displayName: push\n      env:\n        REG_PASSWORD: abc\n", 9, "pipeline=azure stage=Deploy job=Push step=push env=REG_PASSWORD"},
		{"GitHub Actions with input", ".github/workflows/release.yml", "jobs:\n  release:\n    steps:\n      - uses: some/action@v1\n        with:\n          token: abc\n", 6, "workflow=release.yml job=release step=some/action@v1 with=token"},
		{"Kubernetes Deployment env", "deploy/app.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          env:\n            - name: DB_PASSWORD\n              value: abc\n", 12, "k8s=Deployment/default/web env=DB_PASSWORD"},
		{"Kubernetes Secret stringData", "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: ns\nstringData:\n  token: abc\n", 7, "k8s=Secret/ns/s key=token"},
		{"Helm values", "charts/app/values.yaml", "db:\n  auth:\n    password: abc\n", 3, "helm-values=db.auth.password"},
		{"Jenkinsfile stage and env", "Jenkinsfile", "pipeline {\n  stages {\n    stage('Deploy prod') {\n      environment {\n        API_KEY = 'abc'\n", 5, `jenkins stage="Deploy prod" env=API_KEY`},
		{"dotenv variable", "config/.env.production", "export STRIPE_KEY=abc\n", 1, "env=STRIPE_KEY"},
		{"tfvars variable", "prod.tfvars", "db_password = \"abc\"\n", 1, "tfvars var=db_password"},
		{"terraform state attribute", "terraform.tfstate", "{\n  \"resources\": [\n    {\n      \"mode\": \"managed\",\n      \"type\": \"aws_db_instance\",\n      \"name\": \"main\",\n      \"instances\": [\n        {\n          \"attributes\": {\n            \"password\": \"abc\"\n", 10, "tfstate resource=aws_db_instance.main attr=password"},
		{"plain source file", "main.go", "package main\n", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newContextCache(tt.path, []byte(tt.content)).at(tt.line)
			if got != tt.want {
				t.Errorf("context = %q, want %q", got, tt.want)
			}
		})
	}
}
