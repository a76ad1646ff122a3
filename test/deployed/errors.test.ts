import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  AwsCallError,
  CredentialsError,
  DeployedStackError,
  EndpointUnreachableError,
  explainAwsError,
  StackNotFoundError,
} from '../../deployed/errors';
import { sdkError } from './fakes';

describe('AWS errors as one line', () => {
  const call = { action: 'cloudformation:DescribeStacks', target: 'stack Sandtrap', region: 'eu-west-1' };

  it('names missing, expired and rejected credentials', () => {
    expect(
      explainAwsError(sdkError('CredentialsProviderError', 'Could not load credentials from any providers'), call),
    ).toBeInstanceOf(CredentialsError);
    expect(
      explainAwsError(sdkError('ExpiredToken', 'The security token included in the request is expired'), call).message,
    ).toBe('the AWS credentials have expired (ExpiredToken): refresh them and try again');
    expect(
      explainAwsError(
        sdkError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403),
        call,
      ).message,
    ).toBe(
      'AWS eu-west-1 rejected the AWS credentials (InvalidClientTokenId): The security token included in the request is invalid.',
    );
  });

  it('turns access denied into the action to grant and what it was on, on one line', () => {
    const error = explainAwsError(
      sdkError(
        'AccessDenied',
        'User: arn:aws:iam::1:user/x is not authorized\nto perform: cloudformation:DescribeStacks',
        403,
      ),
      call,
    );
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error.message).toBe(
      'access denied: cloudformation:DescribeStacks on stack Sandtrap: User: arn:aws:iam::1:user/x is not authorized to perform: cloudformation:DescribeStacks',
    );
  });

  it('finds a refused connection inside an AggregateError and names the endpoint', () => {
    const refused = new AggregateError(
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' })],
      '',
    );
    const error = explainAwsError(refused, { ...call, endpoint: 'http://127.0.0.1:4566' });
    expect(error).toBeInstanceOf(EndpointUnreachableError);
    expect(error.message).toBe(
      'cannot reach http://127.0.0.1:4566 (eu-west-1) for cloudformation:DescribeStacks (ECONNREFUSED)',
    );
  });

  it('names the call for anything else and passes explained errors through', () => {
    expect(explainAwsError(sdkError('ThrottlingException', 'Rate exceeded'), call)).toEqual(
      new AwsCallError('cloudformation:DescribeStacks on stack Sandtrap failed: ThrottlingException: Rate exceeded'),
    );
    const explained = new StackNotFoundError('Sandtrap', 'eu-west-1');
    expect(explainAwsError(explained, call)).toBe(explained);
  });

  it('keeps every error of the deployed commands on one line', () => {
    expect(new DeployedStackError('a\n  b\tc').message).toBe('a b c');
  });
});
