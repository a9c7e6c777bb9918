//! Permissions and groups, Django style: `app.add_model`, `app.change_model`,
//! `app.delete_model` and `app.view_model` for every registered model, created when
//! the app starts, plus the app's custom permissions; granted to users directly or
//! through groups; superusers hold them all.

use std::collections::BTreeSet;

use keel_core::Error;
use keel_db::Db;
use keel_db::sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};

use crate::models::{group, group_permission, permission, user_group, user_permission};

/// The per-model actions.
pub const ACTIONS: [&str; 4] = ["add", "change", "delete", "view"];

/// Creates the missing permissions: four per table of `tables` and the custom ones.
pub async fn sync(
    db: &Db,
    app: &str,
    tables: &[String],
    custom: &[(String, String)],
) -> Result<(), Error> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    for table in tables {
        for action in ACTIONS {
            wanted.push((
                format!("{app}.{action}_{table}"),
                format!("Can {action} {table}"),
            ));
        }
    }
    wanted.extend(custom.iter().cloned());
    let existing: BTreeSet<String> = permission::Entity::find()
        .all(&**db)
        .await?
        .into_iter()
        .map(|p| p.codename)
        .collect();
    for (codename, name) in wanted {
        if !existing.contains(&codename) {
            let inserted = permission::ActiveModel {
                codename: Set(codename.clone()),
                name: Set(name),
                ..Default::default()
            }
            .insert(&**db)
            .await;
            // Another node may have created it meanwhile.
            if let Err(e) = inserted
                && find(db, &codename).await?.is_none()
            {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

async fn find(db: &Db, codename: &str) -> Result<Option<permission::Model>, Error> {
    Ok(permission::Entity::find()
        .filter(permission::Column::Codename.eq(codename))
        .one(&**db)
        .await?)
}

async fn require(db: &Db, codename: &str) -> Result<permission::Model, Error> {
    find(db, codename)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no permission `{codename}`.")))
}

/// The permission codenames `user_id` holds, directly and through groups.
pub async fn codenames_of(db: &Db, user_id: i64) -> Result<BTreeSet<String>, Error> {
    let sql = "SELECT p.codename FROM keel_permissions p \
         JOIN keel_user_permissions up ON up.permission_id = p.id WHERE up.user_id = ? \
         UNION SELECT p.codename FROM keel_permissions p \
         JOIN keel_group_permissions gp ON gp.permission_id = p.id \
         JOIN keel_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = ?";
    let rows = db
        .query_all_raw(keel_db::statement(
            db.get_database_backend(),
            sql,
            vec![user_id.into(), user_id.into()],
        ))
        .await?;
    let mut out = BTreeSet::new();
    for row in rows {
        out.insert(row.try_get_by_index::<String>(0)?);
    }
    Ok(out)
}

/// Grants `codename` to `user_id` directly.
pub async fn grant(db: &Db, user_id: i64, codename: &str) -> Result<(), Error> {
    let p = require(db, codename).await?;
    let exists = user_permission::Entity::find_by_id((user_id, p.id))
        .one(&**db)
        .await?
        .is_some();
    if !exists {
        user_permission::ActiveModel {
            user_id: Set(user_id),
            permission_id: Set(p.id),
        }
        .insert(&**db)
        .await?;
    }
    Ok(())
}

/// Takes `codename` away from `user_id` (the direct grant; groups are unchanged).
pub async fn revoke(db: &Db, user_id: i64, codename: &str) -> Result<(), Error> {
    let p = require(db, codename).await?;
    user_permission::Entity::delete_by_id((user_id, p.id))
        .exec(&**db)
        .await?;
    Ok(())
}

/// The group called `name`, created with `codenames` if missing (the permissions are
/// added to an existing group).
pub async fn ensure_group(db: &Db, name: &str, codenames: &[&str]) -> Result<group::Model, Error> {
    let g = match group::Entity::find()
        .filter(group::Column::Name.eq(name))
        .one(&**db)
        .await?
    {
        Some(g) => g,
        None => {
            group::ActiveModel {
                name: Set(name.to_owned()),
                ..Default::default()
            }
            .insert(&**db)
            .await?
        }
    };
    for codename in codenames {
        let p = require(db, codename).await?;
        if group_permission::Entity::find_by_id((g.id, p.id))
            .one(&**db)
            .await?
            .is_none()
        {
            group_permission::ActiveModel {
                group_id: Set(g.id),
                permission_id: Set(p.id),
            }
            .insert(&**db)
            .await?;
        }
    }
    Ok(g)
}

/// Adds `user_id` to group `name`.
pub async fn add_to_group(db: &Db, user_id: i64, name: &str) -> Result<(), Error> {
    let g = group::Entity::find()
        .filter(group::Column::Name.eq(name))
        .one(&**db)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no group `{name}`.")))?;
    if user_group::Entity::find_by_id((user_id, g.id))
        .one(&**db)
        .await?
        .is_none()
    {
        user_group::ActiveModel {
            user_id: Set(user_id),
            group_id: Set(g.id),
        }
        .insert(&**db)
        .await?;
    }
    Ok(())
}
