"""A local AWS the project owns: moto's server plus a Docker-free Lambda executor.

Developer and demo tooling, not product code: nothing in stacks/, lambda/ or data_prep/ imports it.

    python -m local_aws up [--port N]     start it in the background (state and log in build/local_aws/)
    eval "$(python -m local_aws env)"     point the AWS CLI, boto3 and the CDK CLI at it
    npx cdk bootstrap && npx cdk deploy GsmRftStack ...   now runs offline
    python -m local_aws down              stop it
    python -m local_aws demo              bootstrap → deploy → invoke → diff → update → destroy, offline

In tests: `with Emulator() as aws: ...` (see `local_aws.server`).
"""
