/**
 * The database the jobs work on. Usually the verification server's existing one (settings name its
 * instance or host, user and password secret); optionally a Cloud SQL for PostgreSQL instance
 * created here. Functions reach it through the Cloud SQL Node.js Connector (functions/adapters/
 * cloud-sql-tunnel.ts; the runtime account holds roles/cloudsql.client), or directly at a host,
 * through the VPC connector for a private address. Gen2 functions get no /cloudsql socket.
 *
 * A created instance's user password comes from the sensitive Terraform variable `db_password`
 * (TF_VAR_db_password), which also becomes the version of the password secret the functions read.
 * It is therefore in the Terraform state, as every Cloud SQL password managed by Terraform is; keep
 * the state bucket as private as the database.
 */
import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { TerraformVariable } from 'cdktf';
import { SecretManagerSecretVersion } from '@cdktf/provider-google/lib/secret-manager-secret-version';
import { SqlDatabase } from '@cdktf/provider-google/lib/sql-database';
import { DataGoogleSqlDatabaseInstance } from '@cdktf/provider-google/lib/data-google-sql-database-instance';
import { SqlDatabaseInstance } from '@cdktf/provider-google/lib/sql-database-instance';
import { SqlUser } from '@cdktf/provider-google/lib/sql-user';
import type { DatabaseEnv } from '../job-env';
import { instanceUrlFromConnectionName } from '../job-env';
import type { EnvironmentSettings } from '../settings';

export interface DatabaseProps {
  readonly settings: EnvironmentSettings;
  readonly dependsOn: readonly ITerraformDependable[];
  /** The managed password secret (resource name), when infra created it. */
  readonly passwordSecret?: string;
}

export const DB_PASSWORD_VARIABLE = 'db_password';

export class Database extends Construct {
  /** What every function gets as DB_HOST, DB_PORT, DB_NAME, DB_USER and DB_SSLMODE. */
  readonly env: DatabaseEnv;
  /** The instance the backup export runs on, when known. */
  readonly instanceUrl?: string;
  /** The created instance's service account, which writes the exports into the backup bucket. */
  readonly instanceServiceAccount?: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { settings } = props;
    const database = settings.database;
    if (database.mode === 'existing') {
      const connection = database.connection;
      this.env = {
        host: database.host,
        port: database.port,
        name: database.name,
        user: database.user,
        sslMode: database.sslMode,
        ...(connection.kind === 'cloud-sql-connector'
          ? { cloudSql: { instance: connection.instance, ipType: connection.ipType } }
          : {}),
      };
      if (database.instanceConnectionName) {
        this.instanceUrl = instanceUrlFromConnectionName(database.instanceConnectionName);
        // Exports run as the instance's own service account, which must be able to write the
        // backups: read it from the instance, since infra did not create it.
        const parts = database.instanceConnectionName.split(':');
        const instance = parts.pop() ?? '';
        parts.pop();
        const project = parts.join(':');
        this.instanceServiceAccount = new DataGoogleSqlDatabaseInstance(this, 'existing-instance', {
          project,
          name: instance,
          dependsOn: [...props.dependsOn],
        }).serviceAccountEmailAddress;
      }
      return;
    }

    const password = new TerraformVariable(this, DB_PASSWORD_VARIABLE, {
      type: 'string',
      sensitive: true,
      nullable: false,
      description: `Password of the Cloud SQL user ${database.user}; also stored as the functions' database password secret.`,
    });
    // Operators pass it as TF_VAR_db_password: the name must not get a construct-path suffix.
    password.overrideLogicalId(DB_PASSWORD_VARIABLE);
    // The functions must find the database password in the secret before the first tick.
    if (props.passwordSecret) {
      new SecretManagerSecretVersion(this, 'password-version', {
        secret: props.passwordSecret,
        secretData: password.stringValue,
      });
    }
    const instance = new SqlDatabaseInstance(this, 'instance', {
      name: database.instanceName,
      region: settings.region,
      databaseVersion: database.databaseVersion,
      deletionProtection: database.deletionProtection,
      settings: {
        tier: database.tier,
        diskSize: database.diskSizeGb,
        diskAutoresize: true,
        availabilityType: database.highAvailability ? 'REGIONAL' : 'ZONAL',
        deletionProtectionEnabled: database.deletionProtection,
        backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true },
        // Public IP with no authorized networks: only the Cloud SQL connectors get in (the
        // functions' Node.js Connector), and they require IAM (roles/cloudsql.client).
        ipConfiguration: { ipv4Enabled: true, sslMode: 'ENCRYPTED_ONLY' },
        userLabels: { app: 'enx-jobs', environment: settings.name },
      },
      dependsOn: [...props.dependsOn],
    });
    new SqlDatabase(this, 'database', { name: database.name, instance: instance.name });
    new SqlUser(this, 'user', {
      name: database.user,
      instance: instance.name,
      password: password.stringValue,
    });
    const ipType = database.connection.kind === 'cloud-sql-connector' ? database.connection.ipType : 'PUBLIC';
    this.env = {
      host: '',
      port: 5432,
      name: database.name,
      user: database.user,
      // The connector's own mTLS tunnel carries the connection.
      sslMode: 'disable',
      cloudSql: { instance: instance.connectionName, ipType },
    };
    this.instanceUrl = instance.selfLink;
    this.instanceServiceAccount = instance.serviceAccountEmailAddress;
  }
}
