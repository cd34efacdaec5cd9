"""A local AWS the project owns: moto's server plus a Docker-free Lambda executor.

Developer and demo tooling, not product code: nothing in stacks/, lambda/ or data_prep/ imports it.

    make local-up                                 start it in the background (state, log: build/local_aws/)
    eval "$(.venv/bin/python -m local_aws env)"   point the AWS CLI, boto3 and the CDK CLI at it
    npx cdk bootstrap aws://123456789012/us-east-1 && npx cdk deploy GsmRftStack --require-approval never
    make local-down                               stop it
    make local-demo STACK=GsmRftStack             bootstrap → deploy → invoke → diff → update → destroy

In tests: `with Emulator() as aws: ...` (see `local_aws.server`).
"""
