//! The WIT types the host API speaks, re-exported from the generated
//! bindings under short paths.

pub use crate::bindings::channel::omnigate::plugin::types::{
    Button, Choices, ContactCard, ContactProfile, Content, DeliveryStatus, Interactive,
    InteractiveReply, Location, Media, MediaKind, Menu, MenuRow, MenuSection, RateLimit, Template,
};

/// Channel records.
pub mod channel {
    pub use crate::bindings::channel::omnigate::plugin::channel_types::{
        ChannelCapabilities, FetchedMedia, InboundEvent, InboundMessage, MediaLimit,
        OutboundMessage, ProviderError, Sent, StatusUpdate, TemplateInfo, WebhookError,
        WebhookRequest, WebhookResponse,
    };
}

/// Flow records.
pub mod flow {
    pub use crate::bindings::flow::omnigate::plugin::flow_types::{
        Action, FlowContext, FlowError, FlowEvent, Handoff, ShopAnswer, ShopQuery, Step,
    };
}

/// Shop records.
pub mod commerce {
    pub use crate::bindings::flow::omnigate::plugin::shop_types::{
        Customer, CustomerRef, Money, Order, OrderAction, OrderLine, OrderStatus, Product,
        ProductVariant, ShopError, Tracking,
    };
}
