//! Entity versions the makemigrations tests move between. Each module is one version
//! of a model; the tests register a set of them as "A" and another as "B".

macro_rules! item {
    ($m:ident { $($body:tt)* }) => {
        pub mod $m {
            use keel_db::sea_orm;
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
            #[sea_orm(table_name = "item")]
            pub struct Model {
                $($body)*
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

item!(base {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
});

item!(with_note {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub note: Option<String>,
});

item!(with_qty {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub qty: i32,
});

item!(with_big_qty {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub qty: i64,
});

item!(with_qty_default {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    #[sea_orm(default_value = 5)]
    pub qty: i32,
});

item!(nullable_name {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: Option<String>,
});

item!(indexed_name {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(indexed)]
    pub name: String,
});

item!(unique_name {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
});

item!(titled {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub title: String,
});

item!(with_owner_id {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub owner_id: i32,
});

pub mod owner {
    use keel_db::sea_orm;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "owner")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `item` with a foreign key to `owner`.
pub mod owned {
    use keel_db::sea_orm;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "item")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub name: String,
        pub owner_id: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::owner::Entity",
            from = "Column::OwnerId",
            to = "super::owner::Column::Id",
            on_delete = "Cascade"
        )]
        Owner,
    }

    impl Related<super::owner::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Owner.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}
