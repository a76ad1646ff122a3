import { Lazy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53resolver from 'aws-cdk-lib/aws-route53resolver';
import { Construct } from 'constructs';

/** Props of {@link DetonationDnsFirewall}. */
export interface DetonationDnsFirewallProps {
  /** The VPC whose Route 53 Resolver queries the firewall filters. */
  readonly vpc: ec2.IVpc;
  /**
   * The only names the VPC may resolve (exact names; a leading `*.` covers subdomains). Everything
   * else is answered NXDOMAIN.
   */
  readonly allowedDomains: readonly string[];
}

/** Rule priorities inside the group: lower numbers are evaluated first. */
export const DNS_FIREWALL_PRIORITIES = { allow: 100, blockEverythingElse: 200 } as const;

/** Priority of the rule group among the VPC's rule groups (AWS accepts 101–9899). */
const ASSOCIATION_PRIORITY = 101;

/**
 * A Route 53 Resolver DNS Firewall on the detonation VPC. The agent must resolve the S3 names of its
 * presigned URLs, so the VPC keeps DNS, and any resolver that recurses to the internet lets a
 * sample tunnel data out in query names to a zone its authors run, with no packet ever leaving
 * through the security group. The firewall answers only the allowed names (all in zones AWS
 * operates) and NXDOMAIN for every other query.
 *
 * DNS Firewall fails closed by default (a VPC's `FirewallFailOpen` is DISABLED unless changed), so
 * a firewall outage blocks queries rather than letting them through.
 */
export class DetonationDnsFirewall extends Construct {
  /** The allowed names. */
  readonly allowList: route53resolver.CfnFirewallDomainList;
  /** The `*` list the last rule blocks. */
  readonly everything: route53resolver.CfnFirewallDomainList;
  readonly ruleGroup: route53resolver.CfnFirewallRuleGroup;
  readonly association: route53resolver.CfnFirewallRuleGroupAssociation;

  constructor(scope: Construct, id: string, props: DetonationDnsFirewallProps) {
    super(scope, id);
    if (props.allowedDomains.length === 0) throw new Error('DetonationDnsFirewall: allowedDomains is empty');
    this.allowList = new route53resolver.CfnFirewallDomainList(this, 'Allowed', {
      // Read at synth: names added to the list after construction (a sample bucket attached later) count.
      domains: Lazy.list({ produce: () => [...props.allowedDomains] }),
    });
    this.everything = new route53resolver.CfnFirewallDomainList(this, 'Everything', { domains: ['*'] });
    this.ruleGroup = new route53resolver.CfnFirewallRuleGroup(this, 'Rules', {
      firewallRules: [
        {
          action: 'ALLOW',
          firewallDomainListId: this.allowList.attrId,
          priority: DNS_FIREWALL_PRIORITIES.allow,
          // S3 and the endpoints answer with CNAME chains into other AWS names; an allowed name's
          // chain is AWS's to choose, and inspecting it would hit the block rule below.
          firewallDomainRedirectionAction: 'TRUST_REDIRECTION_DOMAIN',
        },
        {
          action: 'BLOCK',
          blockResponse: 'NXDOMAIN',
          firewallDomainListId: this.everything.attrId,
          priority: DNS_FIREWALL_PRIORITIES.blockEverythingElse,
        },
      ],
    });
    this.association = new route53resolver.CfnFirewallRuleGroupAssociation(this, 'Association', {
      firewallRuleGroupId: this.ruleGroup.attrId,
      vpcId: props.vpc.vpcId,
      priority: ASSOCIATION_PRIORITY,
    });
  }
}
