// Package deploy holds how aotsym is built and deployed, not code: build.sh
// (the one build command of the shipped binaries, which the Dockerfile, the
// SAM deployment and the CI snippets run), template.yaml (AWS SAM: the
// CloudWatch Logs subscription Lambda, the API on a function URL, the S3
// store), github-actions.yml and buildspec-arm64.yml (publishing a Native
// AOT Lambda function and uploading its symbols). Its tests build with
// build.sh exactly as the Dockerfile does, for amd64 and arm64, check that
// the binaries are static and run, and check the template and the snippets
// against the code's own names.
package deploy
